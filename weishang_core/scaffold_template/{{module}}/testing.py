"""An emulator of the {{name}} API: a real HTTP server on 127.0.0.1, for tests."""

from __future__ import annotations

from weishang_core.testing import Emulator, Request, Response


class {{Class}}Emulator(Emulator):
    publish_paths = ("/v1/posts",)
    token = "test-token"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # Every POST makes a post, as most real outlets do: a client that sends twice posts twice.
        self.posts: list[dict] = []

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json({"error": "bad token"}, 401)
        if request.path == "/v1/posts" and request.method == "POST":
            with self.lock:
                number = len(self.posts) + 1
                post = {
                    "id": number,
                    "url": f"{self.base_url}/p/{number}",
                    "key": request.headers.get("idempotency-key", ""),
                    **request.json(),
                }
                self.posts.append(post)
            return Response.json(post, 201)
        if request.path == "/v1/posts" and request.method == "GET":
            key = request.query.get("idempotency_key", "")
            found = [post for post in self.posts if post["key"] == key][:1]
            return Response.json({"items": found})
        return Response.json({"error": "not found"}, 404)
