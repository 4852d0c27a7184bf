"""The CSV files: read back as a spreadsheet would, every number exact."""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal

import pytest
from sample_views import APPLES, CHEESE, SONNENBERG, SUED, THAL

from pot_bridge import documents, wording


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


class TestGroupOrderCsv:
    def test_reads_back_exactly(self) -> None:
        """One row per product with its packs, the exact total last."""
        data = documents.group_order_csv(SONNENBERG, "de")

        assert data.startswith(b"\xef\xbb\xbf")
        assert [
            ["Artikelnr.", "POT-ID", "Produkt", "Einheit", "Gebinde",
             "Anzahl Gebinde", "Menge", "Preis/Einheit CHF", "Betrag CHF"],
            ["APF-1", "31337", "Äpfel Gala", "kg", "6", "2", "12", "4.20", "50.40"],
            ["KAE-22", "4711", "Bergkäse; mild gereift", "Stück", "", "", "3",
             "409.05", "1227.15"],
            ["MEHL-5", "", "Dinkelmehl hell", "500 g", "", "", "1", "3.10", "3.10"],
            ["EI-6", "2001", "Eier", "Stück", "6", "1", "6", "0.80", "4.80"],
            ["", "", "Total", "", "", "", "", "", "1285.45"],
        ] == rows(data)  # fmt: skip

    def test_total_is_the_sum_of_the_lines(self) -> None:
        """The total row adds up to the Rappen."""
        table = rows(documents.group_order_csv(SONNENBERG, "en"))

        amounts = [Decimal(row[8]) for row in table[1:-1]]

        assert Decimal(table[-1][8]) == sum(amounts)

    @pytest.mark.parametrize(
        ("lang", "header"),
        [
            ("fr", ["Réf.", "ID POT", "Produit", "Unité", "Taille du colis"]),
            ("en", ["SKU", "POT ID", "Product", "Unit", "Pack size"]),
        ],
        ids=["french", "english"],
    )
    def test_header_in_the_producers_language(
        self, lang: wording.Language, header: list[str]
    ) -> None:
        """The header row speaks the producer's language."""
        data = documents.group_order_csv(SONNENBERG, lang)

        assert header == rows(data)[0][:5]

    def test_formula_like_text_is_defused(self) -> None:
        """A product name starting with '=' is not run by the spreadsheet."""
        line = dataclasses.replace(APPLES, name="=HYPERLINK(1)", sku="+41")
        view = dataclasses.replace(SONNENBERG, lines=(line,), total=line.amount)

        data = documents.group_order_csv(view, "de")

        assert ["'+41", "31337", "'=HYPERLINK(1)"] == rows(data)[1][:3]

    def test_wrong_total_is_refused(self) -> None:
        """A total that is not the sum of its lines is a bug upstream."""
        view = dataclasses.replace(SONNENBERG, total=Decimal("1285.40"))

        with pytest.raises(ValueError, match="not the sum of its lines"):
            documents.group_order_csv(view, "de")


class TestMemberCsv:
    def test_each_member_by_pickup_place(self) -> None:
        """Sorted by place, member and product; nothing for a share of 0."""
        data = documents.member_csv(SONNENBERG, "de")

        assert [
            ["Mitglied", "Abholort", "Artikelnr.", "POT-ID", "Produkt", "Einheit",
             "Menge"],
            ["Anna Muster", "Bahnhof", "APF-1", "31337", "Äpfel Gala", "kg", "4"],
            ["Anna Muster", "Bahnhof", "KAE-22", "4711", "Bergkäse; mild gereift",
             "Stück", "1"],
            ["Anna Muster", "Bahnhof", "EI-6", "2001", "Eier", "Stück", "4"],
            ["Chloé Œuvray", "Markt", "MEHL-5", "", "Dinkelmehl hell", "500 g", "1"],
            ["Beat Keller", "Quartierhaus", "APF-1", "31337", "Äpfel Gala", "kg",
             "6"],
            ["Beat Keller", "Quartierhaus", "KAE-22", "4711",
             "Bergkäse; mild gereift", "Stück", "2"],
            ["Beat Keller", "Quartierhaus", "EI-6", "2001", "Eier", "Stück", "2"],
        ] == rows(data)  # fmt: skip

    def test_members_match_the_producers_quantity(self) -> None:
        """What members get adds up to what the producer delivers, minus stock."""
        table = rows(documents.member_csv(SONNENBERG, "en"))

        eggs = sum(Decimal(row[6]) for row in table[1:] if row[2] == "EI-6")

        assert Decimal(6) == eggs

    def test_only_for_producers_who_pack_per_member(self) -> None:
        """Members' names go to a producer only when it packs for them."""
        with pytest.raises(ValueError, match="does not pack per member"):
            documents.member_csv(THAL, "de")


class TestConsolidatedCsv:
    def test_each_coop_then_the_total_per_product(self) -> None:
        """Per product: each coop's row with its delivery point, then the sum."""
        table = rows(documents.consolidated_csv([SONNENBERG, SUED], "de"))

        apples = [row for row in table if row[4] == "Äpfel Gala"]

        assert ["Foodcoop", "Lieferort", "Artikelnr."] == table[0][:3]
        assert [
            ["Foodcoop Nord", "Quartierhaus, Hauptstrasse 1, 8006 Zürich", "APF-1", "31337", "Äpfel Gala", "kg", "6", "2", "12",
             "4.20", "50.40"],
            ["Foodcoop Süd", "Lager Wankdorf, Bahnweg 3, 3011 Bern", "A-77", "31337",
             "Äpfel Gala", "kg", "6", "2", "12", "4.20", "50.40"],
            ["Total aller Foodcoops", "", "APF-1", "31337", "Äpfel Gala", "kg", "6",
             "4", "24", "", "100.80"],
        ] == apples  # fmt: skip

    def test_grand_total_is_both_coops(self) -> None:
        """The last row is the sum of both coops' totals, exactly."""
        table = rows(documents.consolidated_csv([SONNENBERG, SUED], "en"))

        cheese = [row for row in table if row[0] == "Total of all coops"][1]

        assert ["", "4", "", "1636.20"] == cheese[7:]
        assert ["Total", "1744.90"] == [table[-1][0], table[-1][-1]]
        assert SONNENBERG.total + SUED.total == Decimal(table[-1][-1])

    def test_the_producer_may_have_a_name_per_coop(self) -> None:
        """Coops may call the same producer differently; the rows still add up."""
        sued = dataclasses.replace(SUED, producer="Sonnenberg GmbH")

        table = rows(documents.consolidated_csv([SONNENBERG, sued], "de"))

        assert "1744.90" == table[-1][-1]

    def test_no_views(self) -> None:
        """A consolidated order of nothing is a bug upstream."""
        with pytest.raises(ValueError, match="no group orders"):
            documents.consolidated_csv([], "de")


def test_unchanged_lines_keep_their_position() -> None:
    """Lines stay in the order the group order has them."""
    view = dataclasses.replace(
        SONNENBERG, lines=(CHEESE, APPLES), total=CHEESE.amount + APPLES.amount
    )

    names = [row[2] for row in rows(documents.group_order_csv(view, "en"))[1:-1]]

    assert ["Bergkäse; mild gereift", "Äpfel Gala"] == names
