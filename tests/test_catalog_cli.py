"""The catalogue through the CLI, on SQLite and PostgreSQL: what a seller types and what they get back."""

from __future__ import annotations

from pathlib import Path

import pytest

KIWI = ["--sku", "KIWI-RED-5KG", "--title", "紅心獼猴桃 5kg", "--price", "39.90", "--stock", "100"]


def test_init_twice_is_harmless(weishang) -> None:
    first = weishang("init", "--seller", "老李")
    assert "upgraded from empty" in first.stdout
    second = weishang("init")
    assert "up to date" in second.stdout


def test_commands_before_init_say_what_to_do(weishang) -> None:
    assert "weishang init" in weishang.fails("product", "list")


def test_add_and_list_a_product(store) -> None:
    store("product", "add", *KIWI)
    [kiwi] = store.json("product", "list")
    assert kiwi == {
        "sku": "KIWI-RED-5KG",
        "title": "紅心獼猴桃 5kg",
        "price": "39.90",
        "stock": 100,
        "description": "",
        "images": [],
        "commission": None,
        "status": "active",
    }
    assert store.json("product", "show", "KIWI-RED-5KG")["price"] == "39.90"
    assert "紅心獼猴桃 5kg" in store("product", "list").stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--sku", "A1", "--title", "t", "--price", "abc"], "price"),
        (["--sku", "A1", "--title", "t", "--price", "-1"], "price"),
        (["--sku", "A1", "--title", "t", "--price", "1.234"], "price"),
        (["--sku", "A1", "--title", "t", "--price", "1e9"], "price"),
        (["--sku", "A1", "--title", "t", "--price", "1", "--stock", "-5"], "stock"),
        (["--sku", "A1", "--title", "  ", "--price", "1"], "title"),
        (["--sku", "bad sku", "--title", "t", "--price", "1"], "sku"),
        (["--sku", "KIWI-RED-5KG", "--title", "again", "--price", "1"], "sku"),
        (["--sku", "A1", "--title", "t", "--price", "1", "--commission", "L3=1%"], "commission"),
        (["--sku", "A1", "--title", "t", "--price", "1", "--image", "/no/such.png"], "image"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(store, args: list[str], field: str) -> None:
    store("product", "add", *KIWI)
    before = store.json("product", "list")
    line = store.fails("product", "add", *args)
    assert line.startswith(f"Error: {field}"), line
    assert store.json("product", "list") == before


def test_unknown_sku(store) -> None:
    assert store.fails("product", "show", "NOPE") == "Error: sku: no product 'NOPE'"
    assert "no product" in store.fails("product", "update", "NOPE", "--price", "1.00")


def test_update_changes_only_what_is_given(store) -> None:
    store("product", "add", *KIWI, "--description", "軟了就能吃")
    store("product", "update", "KIWI-RED-5KG", "--price", "35.50", "--commission", "L1=10%,L2=3%")
    kiwi = store.json("product", "show", "KIWI-RED-5KG")
    assert (kiwi["price"], kiwi["stock"], kiwi["description"]) == ("35.50", 100, "軟了就能吃")
    assert kiwi["commission"] == "L1=10%,L2=3%"
    assert "stock" in store.fails("product", "update", "KIWI-RED-5KG", "--stock", "-1")
    assert store.json("product", "show", "KIWI-RED-5KG")["stock"] == 100


def test_images_are_checked_and_kept_in_the_home_folder(store, tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "kiwi.png"
    Image.new("RGB", (40, 30), (110, 170, 60)).save(png)
    store("product", "add", *KIWI, "--image", str(png))
    [name] = store.json("product", "show", "KIWI-RED-5KG")["images"]
    assert (store.home / "media" / name).read_bytes() == png.read_bytes()
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert "not a JPEG, PNG" in store.fails("product", "update", "KIWI-RED-5KG", "--image", str(text))
    corrupt = tmp_path / "cut.png"
    corrupt.write_bytes(png.read_bytes()[:60])  # a right header, then nothing
    assert "not a readable image" in store.fails("product", "update", "KIWI-RED-5KG", "--image", str(corrupt))
    huge = tmp_path / "huge.png"
    huge.write_bytes(png.read_bytes() + b"\0" * (21 * 1024 * 1024))
    assert "larger than 20 MB" in store.fails("product", "update", "KIWI-RED-5KG", "--image", str(huge))
    assert store.json("product", "show", "KIWI-RED-5KG")["images"] == [name]  # nothing changed


def test_csv_import_is_all_or_nothing(store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sku,title,price,stock\nKIWI-1,紅心獼猴桃,39.90,10\nHONEY-1,土蜂蜜,68.00,5\nBAD-1,壞的,12.345,1\n",
        encoding="utf-8",
    )
    line = store.fails("product", "import", str(bad))
    assert "row 3" in line and "price" in line
    assert store.json("product", "list") == []

    good = tmp_path / "good.csv"
    good.write_text(
        "sku,title,price,stock,commission\nKIWI-1,紅心獼猴桃,39.90,10,L1=10%\nHONEY-1,土蜂蜜,68.00,,\n",
        encoding="utf-8",
    )
    imported = store.json("product", "import", str(good))
    assert [p["sku"] for p in imported] == ["KIWI-1", "HONEY-1"]
    assert [p["price"] for p in store.json("product", "list")] == ["39.90", "68.00"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("sku,title\nA,b\n", "lacks price"),
        ("sku,title,price,colour\nA,b,1,red\n", "unknown column 'colour'"),
        ("sku,title,price\nA,b,1\nA,c,2\n", "row 2: sku: 'A' appears twice"),
        ("sku,title,price\n", "no rows"),
    ],
)
def test_csv_problems_are_named(store, tmp_path: Path, content: str, problem: str) -> None:
    file = tmp_path / "p.csv"
    file.write_text(content, encoding="utf-8")
    assert problem in store.fails("product", "import", str(file))
    assert store.json("product", "list") == []
