"""Every hook, exercised through the public interface by a throw-away plugin."""

from __future__ import annotations

import click

from tests.channel_kit import registered
from weishang_core import hookimpl


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []  # type: ignore[type-arg]

    @hookimpl
    def referral_clicked(self, link_code, visitor_id, outlet):  # type: ignore[no-untyped-def]
        self.calls.append(("referral_clicked", {"outlet": outlet, "visitor": visitor_id}))

    @hookimpl
    def order_paid(self, order_id, total, referrer):  # type: ignore[no-untyped-def]
        self.calls.append(("order_paid", {"order": order_id, "total": total, "referrer": referrer}))

    @hookimpl
    def commission_created(self, order_id, beneficiary, level, amount):  # type: ignore[no-untyped-def]
        self.calls.append(("commission_created", {"who": beneficiary, "level": level, "amount": amount}))


def test_money_and_click_events_fire_after_commit(store) -> None:
    store(
        "product",
        "add",
        "--sku",
        "KIWI",
        "--title",
        "t",
        "--price",
        "100.00",
        "--stock",
        "10",
        "--commission",
        "L1=10%,L2=5%",
    )
    store("reseller", "add", "A", "--sponsor", "老李")
    store("reseller", "add", "B", "--sponsor", "A")
    code = store.json("link", "create", "--reseller", "B")["code"]
    recorder = Recorder()
    with registered(recorder):
        store("link", "click", code, "--visitor", "v1", "--outlet", "weibo")
        store("link", "click", code, "--visitor", "v1")  # a repeat: no event
        store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "C", "--visitor", "v1")
        store.fails("order", "pay", "99")  # a failed command fires nothing
        store("order", "pay", "1")
    assert recorder.calls == [
        ("referral_clicked", {"outlet": "weibo", "visitor": "v1"}),
        ("commission_created", {"who": "B", "level": 1, "amount": 1000}),
        ("commission_created", {"who": "A", "level": 2, "amount": 500}),
        ("order_paid", {"order": 1, "total": 10000, "referrer": "B"}),
    ]


def test_a_plugin_content_policy_refuses_posts(store) -> None:
    class NoMedicalClaims:
        @hookimpl
        def content_policies(self):  # type: ignore[no-untyped-def]
            return [lambda text: "no medical claims (治癌)" if "治癌" in text else None]

    from weishang_core.policy import check_content

    with registered(NoMedicalClaims()):
        assert check_content("獼猴桃能治癌") == "no medical claims (治癌)"
        assert check_content("獼猴桃很甜") is None
    assert check_content("獼猴桃能治癌") is None


def test_a_plugin_payout_method_is_used(store) -> None:
    class Transfer:
        def pay(self, handle, contact, amount_fen):  # type: ignore[no-untyped-def]
            return f"WXPAY-{handle}-{amount_fen}"

    class WeChatPay:
        @hookimpl
        def payout_method(self, name):  # type: ignore[no-untyped-def]
            return Transfer() if name == "wechatpay" else None

    store(
        "product",
        "add",
        "--sku",
        "KIWI",
        "--title",
        "t",
        "--price",
        "100.00",
        "--stock",
        "10",
        "--commission",
        "L1=10%",
    )
    store("reseller", "add", "A", "--sponsor", "老李")
    code = store.json("link", "create", "--reseller", "A")["code"]
    store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "C", "--ref", code)
    for step in ("pay", "deliver"):
        store("order", step, "1")
    store("settle", "--now", "2030-01-01")
    assert "no payout method called 'wechatpay'" in store.fails("payouts", "run", "--method", "wechatpay")
    with registered(WeChatPay()):
        [payout] = store.json("payouts", "run", "--method", "wechatpay")
    assert payout["reference"] == "WXPAY-A-1000"


def test_a_plugin_adds_a_command() -> None:
    from weishang_core.cli import cli
    from weishang_core.plugins import pm

    class Funnel:
        @hookimpl
        def register_commands(self, cli):  # type: ignore[no-untyped-def]
            @cli.command(name="hello-funnel")
            def hello() -> None:
                click.echo("funnel!")

    plugin = Funnel()
    with registered(plugin):
        pm.hook.register_commands(cli=cli)
        from click.testing import CliRunner

        assert CliRunner().invoke(cli, ["hello-funnel"]).output == "funnel!\n"
    cli.commands.pop("hello-funnel")


def test_an_import_tells_listening_plugins_of_each_order_and_commission(store, tmp_path) -> None:
    """Imports skip events nobody listens to (there are 100,000s); a listening plugin still hears them all."""
    store("product", "add", "--sku", "KIWI", "--title", "t", "--price", "100.00", "--stock", "10",
          "--commission", "L1=10%")  # fmt: skip
    store("reseller", "add", "B", "--sponsor", "老李")
    code = store.json("link", "create", "--reseller", "B")["code"]
    file = tmp_path / "orders.csv"
    file.write_text(f"key,sku,qty,buyer,ref\nk1,KIWI,1,C,{code}\nk2,KIWI,2,D,\n", encoding="utf-8")
    recorder = Recorder()
    with registered(recorder):
        bad = tmp_path / "bad.csv"
        bad.write_text("key,sku,qty,buyer,ref\nk3,KIWI,0,E,\n", encoding="utf-8")
        store.fails("order", "import", str(bad))  # refused: nothing written, nothing told
        store("order", "import", str(file))
    assert sorted(recorder.calls, key=str) == sorted([
        ("commission_created", {"who": "B", "level": 1, "amount": 1000}),
        ("order_paid", {"order": 1, "total": 10000, "referrer": "B"}),
        ("order_paid", {"order": 2, "total": 20000, "referrer": None}),
    ], key=str)  # fmt: skip
