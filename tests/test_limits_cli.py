"""What an outside probe found on the command line (issue #19): a decompression-bomb image, other scripts'
digits and ids past 64 bits, control characters in a contact, formulas in the payout CSV, and a home and
database readable by every account on the machine. Each is one error line (or a safe file), never a
crash; every test failed on the code before the fix."""

from __future__ import annotations

import csv
import io
import os
import stat
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.fixtures import Weishang

HUGE = "99999999999999999999"  # past 2**63 - 1, the largest id a database column holds


def bomb_png(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR's width and height, then its checksum
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_a_decompression_bomb_image_is_one_line(store, tmp_path) -> None:
    for side in (10_000, 30_000):  # past Pillow's warning, and past the limit where Pillow raises
        bomb = tmp_path / f"bomb-{side}.png"
        bomb.write_bytes(bomb_png(side, side))
        error = store.fails("product", "add", "--sku", "KIWI", "--title", "t", "--price", "1.00", "--image", str(bomb))
        assert error == f"Error: image: {str(bomb)!r}: too large a picture (more than 60,000,000 pixels)"
    assert store.json("product", "list") == []


@pytest.fixture
def kiwi(store):
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "39.90", "--stock", "100")
    store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "張三")
    return store


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("order", "pay", "²"), "Error: order: '²' is not an order number"),
        (("order", "show", "١"), "Error: order: '١' is not an order number"),
        (("order", "show", HUGE), f"Error: order: '{HUGE}' is not an order number"),
        (("order", "refund", HUGE), f"Error: order: '{HUGE}' is not an order number"),
        (("order", "create", "--sku", "KIWI", "--qty", "²", "--buyer", "李四"),
         "Error: qty: '²' must be a whole number from 1 to 10000"),
        (("order", "create", "--sku", "KIWI", "--qty", "١", "--buyer", "李四"),
         "Error: qty: '١' must be a whole number from 1 to 10000"),
        (("product", "update", "KIWI", "--price", "٣٩.٩٠"),
         "Error: price: '٣٩.٩٠' is not an amount in yuan such as 39.90"),
        (("product", "update", "KIWI", "--stock", "١٠"), "Error: stock: '١٠' is not a whole number"),
        (("product", "update", "KIWI", "--commission", "L١=10%"),
         "Error: commission: 'L١=10%' should look like L1=10% (a rate) or L1=5.00 (per item)"),
        (("campaign", "close", HUGE), f"Error: campaign: '{HUGE}' is not a campaign number"),
        (("campaign", "create", "--sku", "KIWI", "--target", "10.00", "--deadline", "2099-01-01T00:00:00+08:00",
          "--max-qty", "١"),
         "Error: max-qty: '١' must be a whole number of units from 1 to 1000000"),
        (("posts", "resolve", HUGE, "--retry"), f"Error: post: '{HUGE}' is not a post number"),
        (("posts", "resolve", "١", "--retry"), "Error: post: '١' is not a post number"),
        (("report", "--days", "²"), "Error: days: '²' is not a whole number of days"),
        (("account", "add", "webstore", "--name", "shop", "--daily-cap", "١٠"),
         "Error: daily-cap: '١٠' is not a whole number of posts a day"),
    ],
)  # fmt: skip
def test_other_scripts_digits_and_ids_past_64_bits_are_one_line(kiwi, args, expected) -> None:
    assert kiwi.fails(*args) == expected
    assert [(o["id"], o["status"], o["qty"]) for o in kiwi.json("order", "list")] == [(1, "pending", 1)]
    assert kiwi.json("product", "show", "KIWI")["price"] == "39.90"


def test_a_setting_in_other_digits_is_one_line(store, monkeypatch) -> None:
    monkeypatch.setenv("WEISHANG_RETURN_DAYS", "²")
    assert store.fails("order", "list") == "Error: WEISHANG_RETURN_DAYS: '²' is not a number of days between 0 and 3650"


def test_an_order_file_with_other_digits_names_its_row(kiwi, tmp_path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("key,sku,qty,buyer\nA1,KIWI,1,李四\nA2,KIWI,²,王五\n", encoding="utf-8")
    assert "row 2: qty: '²' must be a whole number from 1 to 10000" in kiwi.fails("order", "import", str(orders))
    assert len(kiwi.json("order", "list")) == 1


@pytest.mark.parametrize("contact", ["138\x1b[2J0000", "wx-\u202eevil", "line\nbreak", "tab\there"])
def test_control_characters_in_a_contact_are_refused(kiwi, contact: str) -> None:
    error = kiwi.fails("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "李四", "--contact", contact)
    assert error.startswith("Error: contact: contains a control or invisible character (U+")
    assert len(kiwi.json("order", "list")) == 1


def test_payout_csv_cells_people_typed_cannot_run_as_formulas(store, tmp_path) -> None:
    hostile = "=cmd|' /C calc'!A0"
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
    store("reseller", "add", hostile, "--sponsor", "老李", "--phone", "+8613800000000")
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    for reseller, buyer in ((hostile, "@SUM(A1)"), ("勤妹子", "-張三")):
        ref = store.json("link", "create", "--reseller", reseller)["code"]
        store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", buyer, "--ref", ref)
        store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", reseller)
    for number in ("1", "3"):
        store("order", "pay", number, "--now", "2026-01-01T10:00:00+08:00")
        store("order", "deliver", number, "--now", "2026-01-02T10:00:00+08:00")
    store("settle", "--now", "2026-03-01T00:00:00+08:00")
    store("payouts", "run", "--min", "1.00")
    target = tmp_path / "payouts.csv"
    store("payouts", "export", "--csv", str(target))
    rows = {r["id"]: r for r in csv.DictReader(target.open(encoding="utf-8"))}
    assert (rows["1"]["beneficiary"], rows["1"]["contact"], rows["1"]["amount"]) == (
        "'" + hostile,
        "'+8613800000000",
        "10.00",
    )
    assert (rows["2"]["beneficiary"], rows["2"]["contact"]) == ("勤妹子", "")
    assert store.json("payouts", "list")[0]["beneficiary"] == hostile  # only the file is treated, not the data


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask():
    """The umask most systems have (022), under which files are readable by everyone unless made private."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_the_home_and_the_database_are_created_private(tmp_path, usual_umask) -> None:
    home = tmp_path / "new" / "home"
    weishang = Weishang(f"sqlite:///{home / 'weishang.db'}", home)
    weishang("init", "--seller", "老李")
    weishang("product", "add", "--sku", "KIWI", "--title", "t", "--price", "1.00")
    assert mode(home) == 0o700
    files = [p for p in home.iterdir() if p.name.startswith("weishang.db")]
    assert files and {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_a_loose_existing_home_is_reported_then_tightened_by_init(tmp_path, usual_umask) -> None:
    home = tmp_path / "home"
    weishang = Weishang(f"sqlite:///{home / 'weishang.db'}", home)
    weishang("init", "--seller", "老李")
    home.chmod(0o755)
    (home / "weishang.db").chmod(0o644)
    report = weishang("doctor").stdout
    assert f"warn  files      {home} is mode 755, readable by others: run `weishang init`" in report
    assert f"{home / 'weishang.db'} is mode 644" in report
    tightened = weishang("init").stdout
    assert f"made {home} private (was 755)" in tightened
    assert (mode(home), mode(home / "weishang.db")) == (0o700, 0o600)
    assert "files" not in weishang("doctor").stdout
