"""An emulator of the {{name}} API: a real HTTP server on 127.0.0.1, for tests."""

from __future__ import annotations

from weishang_core.testing import Emulator, Request, Response


class {{Class}}Emulator(Emulator):
    publish_paths = ("/v1/posts",)
    token = "test-token"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.posts: dict[str, dict] = {}  # by idempotency key

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json({"error": "bad token"}, 401)
        if request.path == "/v1/posts" and request.method == "POST":
            key = request.headers.get("idempotency-key", "")
            with self.lock:
                if key not in self.posts:
                    number = len(self.posts) + 1
                    self.posts[key] = {"id": number, "url": f"{self.base_url}/p/{number}", **request.json()}
                return Response.json(self.posts[key], 201)
        if request.path == "/v1/posts" and request.method == "GET":
            found = self.posts.get(request.query.get("idempotency_key", ""))
            return Response.json({"items": [found] if found else []})
        return Response.json({"error": "not found"}, 404)
