"""The producer's documents: the CSV read back, the e-mail in three languages."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pot_bridge import documents
from pot_bridge.group_order import GroupOrderView, ProductTotal

VIEW = GroupOrderView(
    coop_slug="nord",
    coop_name="Foodcoop Nord",
    coop_email="bestellen@nord.invalid",
    producer="Hof Sonnenberg",
    round_key="plugin:130",
    round_name="Bestellrunde KW 50",
    closes_at=datetime(2026, 12, 8, 19, 0, tzinfo=UTC),  # 20:00 in Zurich
    distribution_day=date(2026, 12, 10),
    lines=(
        ProductTotal(
            product_id=11,
            sku="APF-1",
            name="Äpfel Gala",
            unit="kg",
            quantity=Decimal("1.75"),
            unit_price=Decimal("4.20"),
            amount=Decimal("7.35"),
        ),
        ProductTotal(
            product_id=12,
            sku="KAE-22",
            name="Bergkäse; mild gereift",
            unit="Stück",
            quantity=Decimal(3),
            unit_price=Decimal("409.05"),
            amount=Decimal("1227.15"),
        ),
    ),
    total=Decimal("1234.50"),
)


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


class TestCsv:
    def test_reads_back_exactly(self) -> None:
        """Every number reads back as the exact decimal, the total last."""
        data = documents.group_order_csv(VIEW)

        assert data.startswith(b"\xef\xbb\xbf")
        assert [
            ["Artikelnr.", "Produkt", "Einheit", "Menge", "Preis/Einheit CHF",
             "Betrag CHF"],
            ["APF-1", "Äpfel Gala", "kg", "1.75", "4.20", "7.35"],
            ["KAE-22", "Bergkäse; mild gereift", "Stück", "3", "409.05", "1227.15"],
            ["", "Total", "", "", "", "1234.50"],
        ] == rows(data)  # fmt: skip
        amounts = [Decimal(r[5]) for r in rows(data)[1:-1]]
        assert Decimal(rows(data)[-1][5]) == sum(amounts)

    @pytest.mark.parametrize(
        ("language", "header"),
        [
            ("fr", ["Réf.", "Produit", "Unité", "Quantité"]),
            ("en", ["SKU", "Product", "Unit", "Quantity"]),
        ],
        ids=["french", "english"],
    )
    def test_header_in_the_producers_language(
        self, language: documents.Language, header: list[str]
    ) -> None:
        """The header row speaks the producer's language."""
        data = documents.group_order_csv(VIEW, language)

        assert header == rows(data)[0][:4]

    def test_formula_like_text_is_defused(self) -> None:
        """A product name starting with '=' is not run by the spreadsheet."""
        line = dataclasses.replace(VIEW.lines[0], name="=HYPERLINK(1)")
        view = dataclasses.replace(VIEW, lines=(line,), total=line.amount)

        data = documents.group_order_csv(view)

        assert "'=HYPERLINK(1)" == rows(data)[1][1]


class TestEmail:
    def test_german(self) -> None:
        """Subject, local dates, Swiss amounts and the exact quantity."""
        subject, body = documents.producer_email(VIEW, "de")

        assert "Bestellung Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "Bestellschluss: Dienstag, 08.12.2026, 20:00 Uhr" in body
        assert "Verteiltag:     Donnerstag, 10.12.2026" in body
        assert "Äpfel Gala" in body
        assert "1.75 kg" in body
        assert "1'227.15" in body
        assert "Freundliche Grüsse" in body
        assert "bestellen@nord.invalid" in body
        assert documents.attachment_name(VIEW) in body

    def test_french(self) -> None:
        """French words, dates written day first."""
        subject, body = documents.producer_email(VIEW, "fr")

        assert "Commande Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "mardi 08.12.2026 à 20:00" in body
        assert "jeudi 10.12.2026" in body
        assert "Montant CHF" in body
        assert "pièce" not in body
        assert "fichier CSV" in body

    def test_english(self) -> None:
        """English words, dates as 10 Dec 2026."""
        subject, body = documents.producer_email(VIEW, "en")

        assert "Order Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "Order deadline:   Tuesday 8 Dec 2026, 20:00" in body
        assert "Distribution day: Thursday 10 Dec 2026" in body
        assert "Kind regards" in body

    def test_table_lines_up(self) -> None:
        """Amounts end in one column, the total below them."""
        _, body = documents.producer_email(VIEW, "de")
        table = body.split("\n\n")[3].splitlines()

        expected = [
            "Produkt                 Artikelnr.  Menge    Betrag CHF",
            "----------------------  ----------  -------  ----------",
            "Äpfel Gala              APF-1       1.75 kg        7.35",
            "Bergkäse; mild gereift  KAE-22      3 Stück    1'227.15",
            "----------------------  ----------  -------  ----------",
            "Total                                          1'234.50",
        ]
        assert expected == table

    def test_long_names_wrap(self) -> None:
        """A long product name continues on the next line of its column."""
        name = "Bergkäse aus der eigenen Alp, mild gereift, am Stück"
        line = dataclasses.replace(VIEW.lines[1], name=name)
        view = dataclasses.replace(VIEW, lines=(line,), total=line.amount)

        _, body = documents.producer_email(view, "en")

        assert "Bergkäse aus der eigenen Alp, mild    KAE-22" in body
        assert "\ngereift, am Stück\n" in body

    def test_without_contact_or_distribution_day(self) -> None:
        """Optional facts are left out rather than shown empty."""
        view = dataclasses.replace(VIEW, coop_email=None, distribution_day=None)

        _, body = documents.producer_email(view, "de")

        assert "Verteiltag" not in body
        assert "Bei Fragen" not in body
        assert "@" not in body


class TestRefusals:
    def test_empty_group_order(self) -> None:
        """A group order without lines is a bug upstream, not a mail."""
        empty = dataclasses.replace(VIEW, lines=(), total=Decimal(0))

        with pytest.raises(ValueError, match="no lines"):
            documents.group_order_csv(empty)
        with pytest.raises(ValueError, match="no lines"):
            documents.producer_email(empty, "de")

    def test_unknown_language(self) -> None:
        """Only de, fr and en have templates."""
        with pytest.raises(ValueError, match="language 'it'"):
            documents.producer_email(VIEW, "it")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("producer", "expected"),
    [
        ("Hof Sonnenberg", "hof-sonnenberg"),
        ("Käserei Müller & Söhne", "kaeserei-mueller-soehne"),
        ("Ferme de l'Étoile", "ferme-de-l-etoile"),
        ("農園", "producer"),
    ],
    ids=["plain", "umlauts", "accents", "no-latin-letters"],
)
def test_attachment_name_is_ascii(producer: str, expected: str) -> None:
    """The file name survives every mail client."""
    view = dataclasses.replace(VIEW, producer=producer)

    name = documents.attachment_name(view)

    assert f"group-order-nord-bestellrunde-kw-50-{expected}.csv" == name
