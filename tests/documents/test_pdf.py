"""The PDFs, read back as text the way a producer's software would see them."""

from __future__ import annotations

import dataclasses
import io

import pypdf
import pytest
from sample_views import APPLES, CHEESE, SONNENBERG, SUED, THAL, product

from pot_bridge import pdf, wording


def pages(data: bytes) -> list[str]:
    """Each page's text, runs of white space made one space."""
    reader = pypdf.PdfReader(io.BytesIO(data))

    return [" ".join(page.extract_text().split()) for page in reader.pages]


def text(data: bytes) -> str:
    return " ".join(pages(data))


GROUP_ORDER = {
    "de": [
        "Foodcoop Nord Hauptstrasse 1 8006 Zürich",
        "Bestellung – Hof Sonnenberg",
        "Produzent Hof Sonnenberg",
        "Bestellrunde Bestellrunde KW 50",
        "Bestellschluss Donnerstag, 10.12.2026, 24:00 Uhr",
        "Verteiltag Samstag, 12.12.2026",
        "Abholort Quartierhaus",
        "Kontakt bestellen@nord.invalid",
        "Bemerkung Bitte bis 10 Uhr ans Hintertor liefern",
        "Artikelnr. POT-ID Produkt Einheit Gebinde Anzahl Gebinde Menge Preis CHF",
        "APF-1 31337 Äpfel Gala bestellt: 10 kg 6 2 12 4.20 50.40",
        "KAE-22 4711 Bergkäse; mild gereift Stück 3 409.05 1'227.15",
        "EI-6 2001 Eier bestellt: 8 Stück 6 1 6 0.80 4.80",
        "Total 1'285.45",
    ],
    "fr": [
        "Commande – Hof Sonnenberg",
        "Producteur Hof Sonnenberg",
        "Période de commande Bestellrunde KW 50",
        "Délai de commande jeudi 10.12.2026 à 24h00",
        "Jour de distribution samedi 12.12.2026",
        "Lieu de retrait Quartierhaus",
        "Remarque Bitte bis 10 Uhr",
        "Réf. ID POT Produit Unité Taille du colis Nombre de colis Quantité",
        "APF-1 31337 Äpfel Gala commandé : 10 kg 6 2 12 4.20 50.40",
        "Total 1'285.45",
    ],
    "en": [
        "Order – Hof Sonnenberg",
        "Producer Hof Sonnenberg",
        "Ordering round Bestellrunde KW 50",
        "Order deadline Thursday 10 Dec 2026, 24:00",
        "Distribution day Saturday 12 Dec 2026",
        "Pickup place Quartierhaus",
        "Note Bitte bis 10 Uhr",
        "SKU POT ID Product Unit Pack size Packs Quantity Price CHF Amount CHF",
        "APF-1 31337 Äpfel Gala ordered: 10 kg 6 2 12 4.20 50.40",
        "Total 1'285.45",
    ],
}


class TestGroupOrderPdf:
    @pytest.mark.parametrize("lang", ["de", "fr", "en"])
    def test_says_what_the_producer_needs(self, lang: wording.Language) -> None:
        """Coop, round, dates, place, note, products with packs, the total."""
        content = text(pdf.group_order_pdf(SONNENBERG, lang))

        missing = [phrase for phrase in GROUP_ORDER[lang] if phrase not in content]

        assert [] == missing
        assert "Freitag" not in content
        assert "1/1" in content

    @pytest.mark.parametrize(
        ("lang", "heading"),
        [("de", "Aufteilung nach Mitglied"), ("fr", "Répartition par membre"),
         ("en", "Split by member")],
    )  # fmt: skip
    def test_members_only_when_packed_per_member(
        self, lang: wording.Language, heading: str
    ) -> None:
        """Who gets what, by pickup place, only for a producer who packs so."""
        packed = text(pdf.group_order_pdf(SONNENBERG, lang))
        not_packed = dataclasses.replace(SONNENBERG, per_member=False)
        plain = text(pdf.group_order_pdf(not_packed, lang))

        assert f"{heading} " in packed
        assert "Bahnhof Anna Muster Äpfel Gala kg 4" in packed
        assert "Quartierhaus Beat Keller Äpfel Gala kg 6" in packed
        assert "Dana Roth" not in packed  # her share is 0
        assert heading not in plain
        assert "Anna Muster" not in plain

    def test_pages_are_numbered(self) -> None:
        """A long order runs over pages that say which of how many they are."""
        lines = tuple(
            product(
                100 + i, f"GEM-{i}", f"9{i:03}", f"Gemüse Nr. {i}", "kg", "2", "3.50"
            )
            for i in range(120)
        )
        view = dataclasses.replace(
            SONNENBERG, lines=lines, total=sum(line.amount for line in lines)
        )

        found = pages(pdf.group_order_pdf(view, "de"))

        assert len(found) >= 3
        for number, page in enumerate(found, start=1):
            assert f"{number}/{len(found)}" in page
        assert "Total 840.00" in found[-1]
        assert "Artikelnr. POT-ID Produkt" in found[1]  # the head repeats

    def test_long_names_wrap(self) -> None:
        """A long product name goes onto more lines, not over the next column."""
        name = "Bergkäse aus der eigenen Alp, mild gereift, am Stück, rund 500 g"
        line = dataclasses.replace(CHEESE, name=name)
        view = dataclasses.replace(SONNENBERG, lines=(line,), total=line.amount)

        reader = pypdf.PdfReader(io.BytesIO(pdf.group_order_pdf(view, "en")))
        raw = reader.pages[0].extract_text().splitlines()

        assert name not in raw
        assert name in " ".join(" ".join(raw).split())

    def test_same_view_same_bytes(self) -> None:
        """The PDF depends on the group order only, not on the clock."""
        first = pdf.group_order_pdf(SONNENBERG, "de")
        again = pdf.group_order_pdf(SONNENBERG, "de")
        changed = pdf.group_order_pdf(dataclasses.replace(SONNENBERG, note=""), "de")

        assert first == again
        assert first != changed

    def test_letters_outside_latin_1(self) -> None:
        """Œ, the typographic dash and apostrophe survive into the text."""
        line = dataclasses.replace(APPLES, name="Œufs – l’été")
        view = dataclasses.replace(SONNENBERG, lines=(line,), total=line.amount)

        content = text(pdf.group_order_pdf(view, "fr"))

        assert "Œufs – l’été" in content

    def test_names_are_text_not_markup(self) -> None:
        """Angle brackets and ampersands in names print as they are."""
        line = dataclasses.replace(APPLES, name="Brot <Bio> & Butter")
        view = dataclasses.replace(
            SONNENBERG, producer="Müller & Söhne", lines=(line,), total=line.amount
        )

        content = text(pdf.group_order_pdf(view, "de"))

        assert "Brot <Bio> & Butter" in content
        assert "Bestellung – Müller & Söhne" in content


class TestDistributionPdf:
    def test_by_pickup_place_one_page_each(self) -> None:
        """Every place starts a page; each member is listed at their own place."""
        found = pages(pdf.distribution_pdf([SONNENBERG, THAL], "de"))

        places = [
            next(i for i, page in enumerate(found) if f"Abholort: {place} " in page)
            for place in ("Bahnhof", "Markt", "Quartierhaus")
        ]

        assert [0, 1, 2] == places
        assert "Anna Muster Äpfel Gala Hof Sonnenberg kg 4" in found[0]
        assert "Polenta grob Mühle Thal kg 1" in found[0]
        assert "Mitglieder: 2 " in found[1]
        assert "Beat Keller" in found[2]  # no place of his own: the coop's
        assert "Beat Keller" not in found[0] + found[1]
        assert f"1/{len(found)}" in found[0]

    @pytest.mark.parametrize(
        ("lang", "reasons"),
        [
            ("de", ["Eier Hof Sonnenberg Stück 2 bestellt 4 – auf ganze Gebinde",
                    "500 g 0 bestellt 1 – Minderlieferung des Produzenten",
                    "kg 0 bestellt 1 – Mindestbestellung nicht erreicht"]),
            ("fr", ["commandé 4 – arrondi à des colis entiers",
                    "commandé 1 – livraison incomplète du producteur",
                    "commandé 1 – minimum de commande non atteint"]),
            ("en", ["ordered 4 – rounded to whole packs",
                    "ordered 1 – the producer delivered less",
                    "ordered 1 – below the producer's minimum"]),
        ],
    )  # fmt: skip
    def test_less_than_ordered_says_why(
        self, lang: wording.Language, reasons: list[str]
    ) -> None:
        """Where a member gets less, what they ordered and why, in words."""
        content = text(pdf.distribution_pdf([SONNENBERG, THAL], lang))

        missing = [reason for reason in reasons if reason not in content]

        assert [] == missing
        assert "short-delivery" not in content

    def test_receiving_and_stock(self) -> None:
        """Per producer what arrives, in packs, and the surplus kept as stock."""
        found = pages(pdf.distribution_pdf([SONNENBERG, THAL], "en"))

        receiving = found[-1]

        assert receiving.endswith(
            "Distribution list · Foodcoop Nord · Bestellrunde KW 50 4/4"
        )
        assert "Receiving by producer Hof Sonnenberg" in receiving
        assert "Product Unit Quantity Packs Surplus (stock)" in receiving
        assert "Äpfel Gala APF-1 kg 12 2 × 6 2 " in receiving
        assert "Eier EI-6 Stück 6 1 × 6 Mühle Thal" in receiving  # no surplus
        assert "Polenta grob POL-1 kg 2" in receiving

    def test_no_pickup_place_at_all(self) -> None:
        """Without a member's or the coop's place, a neutral dash stands in."""
        shares = tuple(dataclasses.replace(s, pickup_place="") for s in THAL.shares)
        view = dataclasses.replace(THAL, shares=shares, pickup_place="")

        content = text(pdf.distribution_pdf([view], "fr"))

        assert "Lieu de retrait : — Membres : 3" in content

    def test_one_round_only(self) -> None:
        """Two coops' group orders are not one distribution."""
        with pytest.raises(ValueError, match="more than one round"):
            pdf.distribution_pdf([SONNENBERG, SUED], "de")


class TestConsolidatedPdf:
    @pytest.mark.parametrize(
        ("lang", "expected"),
        [
            ("de", ["Sammelbestellung – Hof Sonnenberg",
                    "Liefertag Samstag, 12.12.2026",
                    "Total aller Foodcoops",
                    "APF-1 31337 Äpfel Gala bestellt: 20 kg 6 4 24 100.80",
                    "KAE-22 4711 Bergkäse; mild gereift Stück 4 1'636.20",
                    "Total 1'744.90",
                    ("Foodcoop Nord Lieferort Quartierhaus Foodcoop Nord "
                     "Hauptstrasse 1 8006 Zürich Bestellrunde Bestellrunde KW 50"),
                    ("Foodcoop Süd Lieferort Lager Wankdorf Foodcoop Süd Bahnweg 3 "
                     "3011 Bern Bestellrunde Runde 50"),
                    "Total 1'285.45", "Total 459.45"]),
            ("fr", ["Commande groupée – Hof Sonnenberg", "Jour de livraison samedi",
                    "Total de toutes les coopératives",
                    "Lieu de livraison Lager Wankdorf",
                    "Total 1'744.90"]),
            ("en", ["Combined order – Hof Sonnenberg", "Delivery day Saturday",
                    "Total of all coops", "Delivery point Lager Wankdorf",
                    "Total 1'744.90"]),
        ],
    )  # fmt: skip
    def test_each_coop_and_the_total(
        self, lang: wording.Language, expected: list[str]
    ) -> None:
        """The total per product over all coops, then each coop's part."""
        content = text(pdf.consolidated_pdf([SONNENBERG, SUED], lang))

        missing = [phrase for phrase in expected if phrase not in content]

        assert [] == missing

    def test_same_views_same_bytes(self) -> None:
        """Resending the combined order gives the same file."""
        first = pdf.consolidated_pdf([SONNENBERG, SUED], "fr")

        assert first == pdf.consolidated_pdf([SONNENBERG, SUED], "fr")
