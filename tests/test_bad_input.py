"""Hostile and odd input: kept exactly when it is merely unusual, refused with the field named when it is
too much, never a traceback and never a partial write."""

from __future__ import annotations

import pytest

ODD = [
    "紅心獼猴桃 🥝🥝 5kg",  # emoji
    "紅心\u200b獼猴桃\u200d",  # zero-width space and joiner
    "\u202eגדול\u202c kiwi مرحبا",  # right-to-left text and an override
    "kiwi'); DROP TABLE products;--",  # SQL-looking
    "Robert\"; DELETE FROM orders WHERE '1'='1",
]


@pytest.mark.parametrize("title", ODD)
def test_odd_titles_and_notes_are_kept_exactly(store, title: str) -> None:
    store("product", "add", "--sku", "KIWI", "--title", title, "--price", "39.90", "--description", title)
    shown = store.json("product", "show", "KIWI")
    assert (shown["title"], shown["description"]) == (title, title)
    store("account", "add", "webstore", "--name", "shop")
    [post] = store.json("distribute", "KIWI", "--note", title)
    assert post["status"] == "published"
    assert [p["sku"] for p in store.json("product", "list")] == ["KIWI"]  # nothing was dropped


def test_a_ten_megabyte_note_is_refused_and_nothing_is_written(store) -> None:
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "39.90")
    store("account", "add", "webstore", "--name", "shop")
    note = "好吃" * (5 * 1024 * 1024)
    error = store.fails("distribute", "KIWI", "--note", note)
    assert error.startswith("Error: note: 10485760 characters; keep a personal note under 2,000")
    assert store.json("posts") == []


def test_a_ten_megabyte_description_is_refused(store) -> None:
    error = store.fails("product", "add", "--sku", "KIWI", "--title", "t", "--price", "1.00",
                        "--description", "x" * (10 * 1024 * 1024))  # fmt: skip
    assert "description: longer than 20,000 characters" in error
    assert store.json("product", "list") == []


def test_a_bad_connection_pool_size_is_named_in_one_line(pg_url: str, tmp_path) -> None:
    from tests.fixtures import Weishang
    from weishang_core.cli import cli

    weishang = Weishang(pg_url, tmp_path / "home")
    env = {**weishang.env(), "WEISHANG_DB_POOL_SIZE": "many"}
    result = weishang.runner.invoke(cli, ["init", "--seller", "老李"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: WEISHANG_DB_POOL_SIZE: 'many' is not a whole number of connections (1 or more)"
    )
