"""Shelf labels: what each label shows, its QR code, the sheets, the command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from reportlab.graphics.barcode.qr import QrCodeWidget

from pot_bridge.catalog.feed import read_feed
from pot_bridge.catalog.labels import Label, labels_pdf, qr_code, shelf_labels
from pot_bridge.catalog.model import Catalog
from pot_bridge.config import CoopCatalog, CoopConfig
from pot_bridge.sandbox import SandboxShop, ShopState

from . import FeedServer

PAGE = "https://db.pot.example.org/produkt/{pot_id}"

# The central catalog in the feed's own notation (see catalog/feed.py).
CENTRAL = """
{
  "version": 1,
  "producers": [
    {"pot_id": "P17", "name": "Hof Sonnenberg"},
    {"pot_id": "P23", "name": "Mühle Eschenz"},
    {"pot_id": "P40", "name": "Imkerei Waldrand"}
  ],
  "products": [
    {"pot_id": "10452", "producer_id": "P17", "name": "Bergkäse mild",
     "unit": "kg", "price": "24.80", "vat": "reduced", "sku": "SON-KAE-1"},
    {"pot_id": "10453", "producer_id": "P17", "name": "Alpbutter",
     "unit": "250 g", "price": "5.60", "vat": "reduced"},
    {"pot_id": "10454", "producer_id": "P17", "name": "Rahm",
     "unit": "2 dl", "price": "2.10", "vat": "reduced", "available": false},
    {"pot_id": "10455", "producer_id": "P17", "name": "Quark",
     "unit": "500 g", "price": "3.20", "vat": "reduced"},
    {"pot_id": "20001", "producer_id": "P23", "name": "Dinkelmehl",
     "unit": "kg", "price": "3.95", "vat": "zero"},
    {"pot_id": "30001", "producer_id": "P40", "name": "Waldhonig",
     "unit": "500 g", "price": "14.00", "vat": "reduced"},
    {"pot_id": "30002", "producer_id": "P40", "name": "Bienenwachskerze",
     "price": "9.00", "vat": "standard"}
  ]
}
"""
# Hof Sonnenberg without its quark, and the candle alone of the Imkerei.
CARRY = CoopCatalog(
    producers=["P17", "Mühle Eschenz"],
    products=["30002"],
    exclude=["10455"],
    margin_percent=Decimal(10),
)
COOP = CoopConfig(
    slug="nord",
    name="Foodcoop Nord",
    shop_url="http://127.0.0.1:8080",
    rounds="plugin",
    wp_user="bridge",
)


def central() -> Catalog:
    catalog, problems = read_feed(json.loads(CENTRAL), "test")
    assert [] == problems

    return catalog


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def many(count: int) -> list[Label]:
    return [
        Label(f"{n:05}", f"Produkt {n}", "kg", Decimal("2.50"), f"https://x/{n}")
        for n in range(count)
    ]


# -- the labels ------------------------------------------------------------------


def test_available_carried_products_with_the_coops_price() -> None:
    """Unavailable (Rahm), excluded (Quark) and not carried (Waldhonig) get
    no label; prices carry the 10 % margin, rounded to 0.05 CHF."""
    labels = shelf_labels(central(), CARRY, PAGE)

    assert [
        ("10453", "Alpbutter", "250 g", Decimal("6.15")),
        ("10452", "Bergkäse mild", "kg", Decimal("27.30")),
        ("30002", "Bienenwachskerze", "", Decimal("9.90")),
        ("20001", "Dinkelmehl", "kg", Decimal("4.35")),
    ] == [(lb.pot_id, lb.name, lb.unit, lb.price) for lb in labels]


def test_pdf_shows_name_price_unit_and_pot_id_label_by_label() -> None:
    """Row by row, in the order of the list; a product without a unit has
    no unit line."""
    pdf = labels_pdf(shelf_labels(central(), CARRY, PAGE), COOP, "de")

    assert [
        "Alpbutter",
        "CHF 6.15",
        "pro 250 g",
        "POT-ID 10453",
        "Bergkäse mild",
        "CHF 27.30",
        "pro kg",
        "POT-ID 10452",
        "Bienenwachskerze",
        "CHF 9.90",
        "POT-ID 30002",
        "Dinkelmehl",
        "CHF 4.35",
        "pro kg",
        "POT-ID 20001",
    ] == pages_of(pdf)[0].splitlines()


def test_qr_code_holds_the_product_page() -> None:
    labels = shelf_labels(central(), CARRY, PAGE)
    widget = qr_code(labels[1]).contents[0]

    assert isinstance(widget, QrCodeWidget)
    assert "https://db.pot.example.org/produkt/10452" == widget.value
    assert "https://db.pot.example.org/produkt/10452" == labels[1].url


def test_swiss_price_and_language() -> None:
    label = Label("7", "Käselaib", "Stück", Decimal("1234.5"), "https://x/7")

    text = pages_of(labels_pdf([label], COOP, "fr"))[0]

    assert ["Käselaib", "CHF 1'234.50", "par Stück", "ID POT 7"] == text.splitlines()


def test_long_name_is_cut_to_three_lines() -> None:
    name = "Bio Dinkel Vollkorn Spaghetti aus der Mühle am Bach, " * 4
    word = "Donaudampfschifffahrtsgesellschaftskapitänsmütze"
    labels = [
        Label("1", name, "kg", Decimal(1), "https://x/1"),
        Label("2", word, "kg", Decimal(1), "https://x/2"),
    ]

    lines = pages_of(labels_pdf(labels, COOP, "de"))[0].splitlines()

    first = lines[: lines.index("CHF 1.00")]
    assert 3 == len(first)
    assert "Bio Dinkel Vollkorn" == first[0]
    assert first[-1].endswith("…")
    second = lines[lines.index("POT-ID 1") + 1 : lines.index("POT-ID 2") - 2]
    assert word == "".join(second)


@pytest.mark.parametrize(
    ("count", "pages"),
    [(1, 1), (24, 1), (25, 2), (48, 2), (49, 3)],
    ids=["one", "a-full-sheet", "one-over", "two-full", "three-sheets"],
)
def test_one_page_per_24_labels(count: int, pages: int) -> None:
    texts = pages_of(labels_pdf(many(count), COOP, "de"))

    assert pages == len(texts)
    assert f"POT-ID {count - 1:05}" == texts[-1].splitlines()[-1]


def test_same_labels_same_bytes() -> None:
    labels = many(30)

    assert labels_pdf(labels, COOP, "en") == labels_pdf(labels, COOP, "en")


# -- the command -------------------------------------------------------------------

CONFIG = """
state_dir = "{state}"
database_url = "{db_url}"
log_format = "json"

[catalog]
feed_url = "{feed_url}"
product_page = "https://db.pot.example.org/produkt/{{pot_id}}"

[[coop]]
slug = "nord"
name = "Foodcoop Nord"
shop_url = "{shop_url}"
wp_user = "bridge"

[coop.catalog]
producers = ["P17", "Mühle Eschenz"]
products = ["30002"]
exclude = ["10455"]
margin_percent = 10

[[coop]]
slug = "sued"
name = "Foodcoop Süd"
shop_url = "{shop_url}"
wp_user = "bridge"

[coop.catalog]
producers = ["P99"]
"""


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """A config whose feed is served here; the shop runs but is never asked."""
    with SandboxShop(ShopState()) as shop, FeedServer(CENTRAL.encode()) as feed:
        path = tmp_path / "pot-bridge.toml"
        path.write_text(
            CONFIG.format(
                state=tmp_path, db_url=db_url, feed_url=feed.url, shop_url=shop.url
            ),
            encoding="utf-8",
        )
        env = dict(os.environ)
        for slug in ("NORD", "SUED"):
            env[f"POT_BRIDGE_{slug}_CONSUMER_KEY"] = shop.consumer_key
            env[f"POT_BRIDGE_{slug}_CONSUMER_SECRET"] = shop.consumer_secret
            env[f"POT_BRIDGE_{slug}_WP_APP_PASSWORD"] = shop.app_password
        yield path, env
        assert [] == shop.requests


def pot_bridge(
    config: tuple[Path, dict[str, str]], *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    path, env = config
    return subprocess.run(
        [sys.executable, "-m", "pot_bridge.cli", "--config", str(path), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_writes_the_pdf_where_asked_or_after_the_coop(
    config: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    out = tmp_path / "print" / "etiketten.pdf"
    out.parent.mkdir()
    fetched = pot_bridge(config, "catalog", "fetch", cwd=tmp_path)
    given = pot_bridge(
        config, "catalog", "labels", "nord", "--out", str(out), cwd=tmp_path
    )
    default = pot_bridge(config, "catalog", "labels", "nord", cwd=tmp_path)

    assert 0 == fetched.returncode, fetched.stderr
    assert 0 == given.returncode, given.stderr
    assert f"wrote 4 labels to {out.resolve()} (1 A4 sheet of 24)\n" == given.stdout
    text = pages_of(out.read_bytes())[0]
    assert "Bergkäse mild\nCHF 27.30\npro kg\nPOT-ID 10452" in text
    assert 0 == default.returncode, default.stderr
    assert out.read_bytes() == (tmp_path / "labels-nord.pdf").read_bytes()
    assert str((tmp_path / "labels-nord.pdf").resolve()) in default.stdout


def test_refusals_are_named(
    config: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    before_fetch = pot_bridge(config, "catalog", "labels", "nord", cwd=tmp_path)
    pot_bridge(config, "catalog", "fetch", cwd=tmp_path)
    nothing = pot_bridge(config, "catalog", "labels", "sued", cwd=tmp_path)
    nowhere = pot_bridge(
        config,
        "catalog",
        "labels",
        "nord",
        "--out",
        "no/such/dir/x.pdf",
        cwd=tmp_path,
    )

    assert 1 == before_fetch.returncode
    assert "run `pot-bridge catalog fetch` first" in before_fetch.stderr
    assert 1 == nothing.returncode
    assert "coop 'sued' carries no available product" in nothing.stderr
    assert 1 == nowhere.returncode
    assert "cannot write no/such/dir/x.pdf" in nowhere.stderr
    assert not list(tmp_path.glob("*.pdf"))
