"""Channel ``wechat-oa``: publish a product as an Official Account article (§1.2–§1.4 of the spec).

Steps: the cover goes up as permanent material (``material/add_material``, field ``media``) for
``thumb_media_id``; the other photos and a QR code of the referral link go up with ``media/uploadimg``;
``draft/add`` makes the article; ``freepublish/submit`` starts publishing, which WeChat finishes in the
background, so the post stays pending and the core polls ``freepublish/get`` later without blocking a
worker. The draft id is kept in the account's state, so a retry after a failed submit reuses the draft.
"""

from __future__ import annotations

from typing import Any

from weishang_core.channels import Account, Channel, Limits, Option, PublishResult
from weishang_core.content import Content, compose
from weishang_core.errors import PermanentError
from weishang_core.images import fit_for_upload
from weishang_wechat import article
from weishang_wechat.api import WeChatClient
from weishang_wechat.images import qr_png

PUBLISH_STATUS = {  # freepublish/get publish_status (§1.4)
    2: "originality claim failed (原創聲明失敗)",
    3: "publishing failed (常規失敗)",
    4: "rejected by the platform's review (平台審核不通過)",
    5: "the articles were deleted after publishing",
    6: "the platform banned the articles after publishing",
}


class WeChatOfficialAccount(Channel):
    name = "wechat-oa"
    display_name = "WeChat Official Account (公眾號)"
    limits = Limits(
        text_max=20_000,  # draft/add: content < 20,000 characters (§1.3)
        title_max=article.TITLE_MAX,  # draft/add: title ≤ 32 characters (§1.3)
        images_max=10,
        image_formats=("jpeg", "png"),  # uploadimg takes jpg/png only (§1.2); others are converted
        image_max_bytes=10_000_000,  # add_material image ≤ 10 MB (§1.2); uploadimg copies are shrunk < 1 MB
        link_required=True,  # the referral link rides in content_source_url (阅读原文)
        daily_quota=100,  # freepublish/submit: 100 a day (§1.5)
    )
    options = (
        Option("appid", required=True, help="the Official Account's AppID"),
        Option("secret", required=True, secret=True, help="the Official Account's AppSecret"),
        Option("api_base", default="https://api.weixin.qq.com", help="API base URL (an emulator in tests)"),
        Option("author", help="article author, at most 16 characters"),
        Option("poll_every", default="30", help="seconds between publish-status polls (quota: 100 a day)"),
    )
    supports_lookup = True

    def client(self, account: Account) -> WeChatClient:
        return WeChatClient(
            account.option("api_base") or "", account.option("appid") or "", account.option("secret") or ""
        )

    def render(self, content: Content) -> dict[str, Any]:
        text = compose(content, self.limits)
        digest = (content.note or content.description).strip().replace("\n", " ")
        return {
            "title": content.title[: article.TITLE_MAX],
            "digest": digest[: article.DIGEST_MAX],
            "body": content.description,
            "note": content.note,
            "poster": content.poster,
            "price": content.price,
            "link": content.link,
            "images": [str(p) for p in content.images[: self.limits.images_max]],
            "text": text,
        }

    def _poll_after(self, account: Account) -> float:
        return float(account.option("poll_every") or 30)

    def publish(self, account: Account, payload: dict[str, Any], idempotency_key: str) -> PublishResult:
        client = self.client(account)
        drafts = account.state.setdefault("drafts", {})
        draft_id = drafts.get(idempotency_key)
        if draft_id is None:
            draft_id = self._make_draft(client, account, payload, idempotency_key)
            drafts[idempotency_key] = draft_id
        return self._submit(client, account, draft_id)

    def _make_draft(self, client: WeChatClient, account: Account, payload: dict[str, Any], key: str) -> str:
        images = payload["images"]
        if images:
            cover, kind = fit_for_upload(images[0], 10_000_000)
        else:
            cover, kind = qr_png(payload["link"]), "png"
        thumb = client.call(
            "POST",
            "/cgi-bin/material/add_material",
            params={"type": "image"},
            files={"media": (f"cover.{kind}", cover, f"image/{kind}")},
        )["media_id"]
        urls = []
        for path in images[1:]:
            data, kind = fit_for_upload(path, 1_000_000)  # uploadimg: jpg/png < 1 MB (§1.2)
            urls.append(
                client.call(
                    "POST", "/cgi-bin/media/uploadimg", files={"media": (f"photo.{kind}", data, f"image/{kind}")}
                )["url"]
            )
        qr_url = client.call(
            "POST", "/cgi-bin/media/uploadimg", files={"media": ("qr.png", qr_png(payload["link"]), "image/png")}
        )["url"]
        entry = {
            "title": payload["title"][: article.TITLE_MAX],
            "author": (account.option("author") or payload["poster"])[: article.AUTHOR_MAX],
            "digest": payload["digest"][: article.DIGEST_MAX],
            "content": article.html(payload, urls, qr_url, key),
            "content_source_url": payload["link"],
            "thumb_media_id": thumb,
            "need_open_comment": 1,
            "only_fans_can_comment": 0,
        }
        return client.call("POST", "/cgi-bin/draft/add", json_body={"articles": [entry]})["media_id"]

    def _submit(self, client: WeChatClient, account: Account, draft_id: str) -> PublishResult:
        data = client.call("POST", "/cgi-bin/freepublish/submit", json_body={"media_id": draft_id})
        publish_id = data["publish_id"]  # a string in the docs, a number in real replies: accept both (§1.4)
        return PublishResult(external_id=str(publish_id), status="pending", poll_after=self._poll_after(account))

    def poll(self, account: Account, external_id: str) -> PublishResult:
        client = self.client(account)
        if external_id.startswith("draft:"):  # found by lookup: the draft exists, submit it now
            return self._submit(client, account, external_id.removeprefix("draft:"))
        data = client.call("POST", "/cgi-bin/freepublish/get", json_body={"publish_id": external_id})
        status = int(data.get("publish_status", 1))
        if status == 1:
            return PublishResult(external_id=external_id, status="pending", poll_after=self._poll_after(account))
        if status != 0:
            raise PermanentError(f"WeChat: {PUBLISH_STATUS.get(status, f'publish_status {status}')}", code=status)
        items = (data.get("article_detail") or {}).get("item") or [{}]
        return PublishResult(external_id=str(data.get("article_id") or external_id), url=items[0].get("article_url"))

    def lookup(self, account: Account, idempotency_key: str) -> PublishResult | None:
        """Find the article by its marker: published (freepublish/batchget), else still a draft."""
        client = self.client(account)
        mark = article.marker(idempotency_key)
        body = {"offset": 0, "count": 20, "no_content": 0}
        for item in client.call("POST", "/cgi-bin/freepublish/batchget", json_body=body).get("item", []):
            for news in (item.get("content") or {}).get("news_item", []):
                if mark in news.get("content", ""):
                    return PublishResult(external_id=str(item["article_id"]), url=news.get("url"))
        for item in client.call("POST", "/cgi-bin/draft/batchget", json_body=body).get("item", []):
            for news in (item.get("content") or {}).get("news_item", []):
                if mark in news.get("content", ""):
                    return PublishResult(external_id=f"draft:{item['media_id']}", status="pending", poll_after=0.1)
        return None

    def check(self, account: Account) -> str:
        self.client(account).token()
        return "WeChat issued an access token"
