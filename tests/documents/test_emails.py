"""The e-mails: to the producer, its corrections, and the notes to the coop's admin."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sample_views import APPLES, CHEESE, FLOUR, SONNENBERG, SUED, THAL, product

from pot_bridge import documents, handout, wording

TUESDAY_EVENING = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # 20:00 in Zurich


def table_of(body: str, head: str) -> list[str]:
    """The fixed-width table that starts with the line `head`."""
    lines = body.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = lines.index("", start)

    return lines[start:end]


class TestProducerEmail:
    def test_german(self) -> None:
        """Subject, local dates, place, note, Swiss amounts and the attachments."""
        subject, body = documents.producer_email(SONNENBERG, "de")

        assert "Bestellung Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "Bestellschluss: Donnerstag, 10.12.2026, 24:00 Uhr" in body
        assert "Verteiltag:     Samstag, 12.12.2026" in body
        assert "Abholort:       Quartierhaus" in body
        assert "Bemerkung: Bitte bis 10 Uhr ans Hintertor liefern" in body
        assert "1'227.15" in body
        assert "Freundliche Grüsse" in body
        assert "bestellen@nord.invalid" in body
        assert documents.attachment_name(SONNENBERG, "pdf") in body
        assert documents.attachment_name(SONNENBERG, "csv") in body
        assert documents.attachment_name(SONNENBERG, "csv", part="members") in body

    def test_french(self) -> None:
        """French words, dates written day first, the hour as 24h00."""
        subject, body = documents.producer_email(SONNENBERG, "fr")

        assert "Commande Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "Délai de commande :    jeudi 10.12.2026 à 24h00" in body
        assert "Jour de distribution : samedi 12.12.2026" in body
        assert "Lieu de retrait :      Quartierhaus" in body
        assert "Remarque : Bitte bis 10 Uhr" in body
        assert "Montant CHF" in body
        assert "commandé : 10 kg" in body
        assert "fichier\nCSV" in body

    def test_english(self) -> None:
        """English words, dates as 12 Dec 2026."""
        subject, body = documents.producer_email(SONNENBERG, "en")

        assert "Order Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "Order deadline:   Thursday 10 Dec 2026, 24:00" in body
        assert "Distribution day: Saturday 12 Dec 2026" in body
        assert "Pickup place:     Quartierhaus" in body
        assert "ordered: 10 kg" in body
        assert "Kind regards" in body

    def test_table_lines_up(self) -> None:
        """Amounts end in one column; packs and the members' order where they differ."""
        _, body = documents.producer_email(SONNENBERG, "de")

        expected = [
            "Produkt                 Artikelnr.  Menge      Gebinde  Betrag CHF",
            "----------------------  ----------  ---------  -------  ----------",
            "Äpfel Gala              APF-1       12 kg      2 × 6         50.40",
            "  bestellt: 10 kg",
            "Bergkäse; mild gereift  KAE-22      3 Stück               1'227.15",
            "Dinkelmehl hell         MEHL-5      1 × 500 g                 3.10",
            "  bestellt: 2 × 500 g",
            "Eier                    EI-6        6 Stück    1 × 6          4.80",
            "  bestellt: 8 Stück",
            "----------------------  ----------  ---------  -------  ----------",
            "Total                                                     1'285.45",
        ]
        assert expected == table_of(body, "Produkt ")

    def test_one_of_a_counted_unit(self) -> None:
        """A unit that is itself a quantity reads 1 × 500 g, never 1 500 g."""
        _, body = documents.producer_email(SONNENBERG, "en")

        assert "1 × 500 g" in body
        assert "1 500 g" not in body

    def test_without_packs_no_pack_column(self) -> None:
        """A producer without packs gets the table without the column."""
        view = dataclasses.replace(SONNENBERG, lines=(CHEESE,), total=CHEESE.amount)

        _, body = documents.producer_email(view, "de")

        assert [
            "Produkt                 Artikelnr.  Menge    Betrag CHF",
            "----------------------  ----------  -------  ----------",
            "Bergkäse; mild gereift  KAE-22      3 Stück    1'227.15",
            "----------------------  ----------  -------  ----------",
            "Total                                          1'227.15",
        ] == table_of(body, "Produkt ")
        assert "bestellt" not in body

    def test_long_names_wrap(self) -> None:
        """A long product name continues on the next line of its column."""
        name = "Bergkäse aus der eigenen Alp, mild gereift, am Stück"
        line = dataclasses.replace(CHEESE, name=name)
        view = dataclasses.replace(SONNENBERG, lines=(line,), total=line.amount)

        _, body = documents.producer_email(view, "en")

        assert "Bergkäse aus der eigenen Alp, mild    KAE-22" in body
        assert "\ngereift, am Stück\n" in body

    def test_without_optional_facts(self) -> None:
        """Optional facts are left out rather than shown empty."""
        view = dataclasses.replace(
            SONNENBERG,
            coop_email=None,
            distribution_day=None,
            pickup_place="",
            note="",
            per_member=False,
        )

        _, body = documents.producer_email(view, "de")

        assert "Verteiltag" not in body
        assert "Abholort" not in body
        assert "Bemerkung" not in body
        assert "Bei Fragen" not in body
        assert "members" not in body
        assert "@" not in body


@pytest.mark.parametrize(
    ("closes_at", "lang", "expected", "wrong"),
    [
        (TUESDAY_EVENING, "de", "Dienstag, 08.12.2026, 20:00 Uhr", "Mittwoch"),
        (TUESDAY_EVENING, "fr", "mardi 08.12.2026 à 20h00", "mercredi"),
        (TUESDAY_EVENING, "en", "Tuesday 8 Dec 2026, 20:00", "Wednesday"),
        (
            datetime(2026, 12, 10, 23, 0, tzinfo=UTC),
            "de",
            "Donnerstag, 10.12.2026, 24:00 Uhr",
            "Freitag",
        ),
        (
            datetime(2026, 12, 10, 23, 0, tzinfo=UTC),
            "fr",
            "jeudi 10.12.2026 à 24h00",
            "vendredi",
        ),
        (
            datetime(2026, 6, 11, 22, 0, tzinfo=UTC),
            "en",
            "Thursday 11 Jun 2026, 24:00",
            "Friday",
        ),
    ],
    ids=["de-evening", "fr-evening", "en-evening", "de-midnight", "fr-midnight",
         "en-midnight-summer-time"],
)  # fmt: skip
def test_deadline_is_the_last_day(
    closes_at: datetime, lang: wording.Language, expected: str, wrong: str
) -> None:
    """A round closing at 00:00 ends on the day before, at 24:00."""
    view = dataclasses.replace(SONNENBERG, closes_at=closes_at, distribution_day=None)

    _, body = documents.producer_email(view, lang)

    assert expected in body
    assert wrong not in body


class TestCorrectionEmail:
    HONEY = product(15, "HON-1", "", "Waldhonig", "250 g", "2", "9.50")
    PREVIOUS = (
        APPLES,
        dataclasses.replace(CHEESE, quantity=Decimal(4), amount=Decimal("1636.20")),
        FLOUR,
        HONEY,
    )

    def test_lists_only_what_changed(self) -> None:
        """Changed, added and removed products; unchanged ones stay out."""
        subject, body = documents.correction_email(
            self.PREVIOUS, SONNENBERG, 2, "de", wording.SWISS
        )

        assert (
            "Korrektur 2 der Bestellung Foodcoop Nord – Bestellrunde KW 50" == subject
        )
        assert [
            "Produkt                 vorher     neu               Differenz",
            "----------------------  ---------  ---------------  ----------",
            "Bergkäse; mild gereift  4 Stück    3 Stück            -1 Stück",
            "Eier                    —          6 Stück (1 × 6)    +6 Stück",
            "Waldhonig               2 × 250 g  —                -2 × 250 g",
        ] == table_of(body, "Produkt                 vorher")

    def test_new_totals_and_replacement(self) -> None:
        """The whole new order follows, and the attachments replace the old ones."""
        _, body = documents.correction_email(
            self.PREVIOUS, SONNENBERG, 2, "de", wording.SWISS
        )

        assert "Total bisher 1'708.70 CHF, neu 1'285.45 CHF." in body
        assert (
            "Total                                                     1'285.45" in body
        )
        assert "ersetzen die früher geschickten" in body
        assert documents.attachment_name(SONNENBERG, "pdf") in body

    @pytest.mark.parametrize(
        ("lang", "subject", "words"),
        [
            ("fr", "Correction 1 de la commande Foodcoop Nord – Bestellrunde KW 50",
             ["avant", "maintenant", "Différence", "remplacent"]),
            ("en", "Correction 1 of the order Foodcoop Nord – Bestellrunde KW 50",
             ["before", "now", "Difference", "replace"]),
        ],
        ids=["french", "english"],
    )  # fmt: skip
    def test_other_languages(
        self, lang: wording.Language, subject: str, words: list[str]
    ) -> None:
        """The correction speaks the producer's language too."""
        got_subject, body = documents.correction_email(
            self.PREVIOUS, SONNENBERG, 1, lang, wording.SWISS
        )

        assert subject == got_subject
        assert all(word in body for word in words)

    def test_only_the_member_split_changed(self) -> None:
        """With the same totals, the mail says so instead of an empty table."""
        _, body = documents.correction_email(
            SONNENBERG.lines, SONNENBERG, 1, "en", wording.SWISS
        )

        assert "The quantities per product stay the same." in body
        assert "What changed" not in body

    def test_everything_removed(self) -> None:
        """A correction to nothing cancels the order and attaches nothing."""
        empty = dataclasses.replace(SONNENBERG, lines=(), total=Decimal(0))

        _, body = documents.correction_email(
            self.PREVIOUS, empty, 3, "de", wording.SWISS
        )

        assert "Waldhonig               2 × 250 g      —    -2 × 250 g" in body
        assert "Total bisher 1'708.70 CHF, neu 0.00 CHF." in body
        assert "die Bestellung entfällt" in body
        assert "bitte liefern" not in body
        assert ".pdf" not in body

    def test_numbered_from_one(self) -> None:
        """Correction 0 would be the first mail."""
        with pytest.raises(ValueError, match="numbered from 1"):
            documents.correction_email((), SONNENBERG, 0, "de", wording.SWISS)


class TestMinimumEmail:
    def test_hold_names_both_commands(self) -> None:
        """Held: what is there, what is needed, and how to release or cancel."""
        subject, body = documents.minimum_email(
            SONNENBERG, Decimal(2000), Decimal(30), "hold", "de", wording.SWISS
        )

        assert "Mindestbestellung nicht erreicht: Hof Sonnenberg – " in subject
        assert "Bestellwert:    1'285.45 CHF, nötig sind 2'000.00 CHF" in body
        assert "Menge:          22, nötig sind 30" in body
        assert "zurückgehalten" in body
        assert "pot-bridge group-order release nord plugin:130 'Hof Sonnenberg'" in body
        assert "pot-bridge group-order cancel nord plugin:130 'Hof Sonnenberg'" in body

    def test_cancel_says_members_are_refunded(self) -> None:
        """Cancelled: no commands to run, the members get their money back."""
        _, body = documents.minimum_email(
            THAL, Decimal(50), None, "cancel", "en", wording.SWISS
        )

        assert "Order value:    11.00 CHF, the minimum is 50.00 CHF" in body
        assert "Quantity:" not in body
        assert "the members will be refunded" in body
        assert "pot-bridge" not in body

    def test_french_quantity_only(self) -> None:
        """Only the minimum that is set is shown."""
        subject, body = documents.minimum_email(
            THAL, None, Decimal(5), "hold", "fr", wording.SWISS
        )

        assert subject.startswith("Minimum de commande non atteint : Mühle Thal")
        assert "Quantité :              2, il faut 5" in body
        assert "Valeur" not in body
        assert "group-order release nord plugin:130 'Mühle Thal'" in body

    def test_unknown_policy(self) -> None:
        """Only "hold" and "cancel" exist."""
        with pytest.raises(ValueError, match="policy 'wait'"):
            documents.minimum_email(
                THAL, Decimal(50), None, "wait", "de", wording.SWISS
            )


class TestDistributionEmail:
    def test_german(self) -> None:
        """Round, counts, the list's name, the surplus and who gets less."""
        subject, body = documents.distribution_email(
            [SONNENBERG, THAL], "de", wording.SWISS
        )

        assert "Verteilliste Foodcoop Nord – Bestellrunde KW 50" == subject
        assert "Verteiltag Samstag, 12.12.2026" in body
        assert "distribution-nord-bestellrunde-kw-50.pdf" in body
        assert "Mitglieder:  4\nProduzenten: 2" in body
        assert "- Äpfel Gala (Hof Sonnenberg): 2 kg" in body
        assert (
            "- Beat Keller, Eier: 2 Stück statt 4 Stück (auf ganze Gebinde gerundet)"
            in body
        )
        assert (
            "- Dana Roth, Dinkelmehl hell: 0 × 500 g statt 1 × 500 g "
            "(Minderlieferung des Produzenten)" in body
        )
        assert (
            "- Chloé Œuvray, Polenta grob: 0 kg statt 1 kg "
            "(Mindestbestellung nicht erreicht)" in body
        )

    def test_french_reasons(self) -> None:
        """The reasons are translated, not shown as codes."""
        _, body = documents.distribution_email([SONNENBERG, THAL], "fr", wording.SWISS)

        assert "(arrondi à des colis entiers)" in body
        assert "(livraison incomplète du producteur)" in body
        assert "(minimum de commande non atteint)" in body
        assert "short-delivery" not in body

    def test_nothing_to_report(self) -> None:
        """Without surplus or short members, only the facts remain."""
        _, body = documents.distribution_email([THAL], "en", wording.SWISS)

        short = handout.handouts([THAL])

        assert 3 == len(short)
        assert "Surplus" not in body
        assert "Members:   3\nProducers: 1" in body

    def test_one_round_only(self) -> None:
        """Two coops' rounds are not one distribution."""
        with pytest.raises(ValueError, match="more than one round"):
            documents.distribution_email([SONNENBERG, SUED], "de", wording.SWISS)


class TestConsolidatedEmail:
    def test_each_coop_and_the_total(self) -> None:
        """The total per product first, then each coop with its delivery point."""
        subject, body = documents.consolidated_email(
            [SONNENBERG, SUED], "de", wording.SWISS
        )

        lines = body.splitlines()
        nord, sued = lines.index("Foodcoop Nord"), lines.index("Foodcoop Süd")

        assert "Sammelbestellung Hof Sonnenberg – Samstag, 12.12.2026" == subject
        assert "gemeinsame Bestellung von 2 Foodcoops" in body
        assert [
            "Äpfel Gala              APF-1       24 kg      4 × 6        100.80",
            "  bestellt: 20 kg",
        ] == table_of(body, "Produkt ")[2:4]
        assert "Total" + " " * 53 + "1'744.90" in lines
        assert ["Hauptstrasse 1", "8006 Zürich", "Lieferort:      Quartierhaus"] == (
            lines[nord + 1 : nord + 4]
        )
        assert ["Bahnweg 3", "3011 Bern", "Lieferort:      Lager Wankdorf"] == (
            lines[sued + 1 : sued + 4]
        )
        assert "Bestellrunde:   Runde 50" in body
        assert "group-order-hof-sonnenberg-2026-12-12.pdf" in body
        assert body.rstrip().endswith("Foodcoop Nord, Foodcoop Süd")

    @pytest.mark.parametrize(
        ("lang", "expected"),
        [
            ("fr", ["Commande groupée Hof Sonnenberg",
                    "Lieu de livraison :   Lager Wankdorf",
                    "Total de toutes les coopératives"]),
            ("en", ["Combined order Hof Sonnenberg", "Delivery point: Lager Wankdorf",
                    "Total of all coops"]),
        ],
        ids=["french", "english"],
    )  # fmt: skip
    def test_other_languages(self, lang: wording.Language, expected: list[str]) -> None:
        """French and English say the same."""
        subject, body = documents.consolidated_email(
            [SONNENBERG, SUED], lang, wording.SWISS
        )

        assert subject.startswith(expected[0])
        assert expected[1] in body
        assert expected[2] in body


class TestRefusals:
    def test_empty_group_order(self) -> None:
        """A group order without lines is a bug upstream, not a mail."""
        empty = dataclasses.replace(SONNENBERG, lines=(), total=Decimal(0))

        with pytest.raises(ValueError, match="no lines"):
            documents.group_order_csv(empty, "de")
        with pytest.raises(ValueError, match="no lines"):
            documents.producer_email(empty, "de")

    def test_unknown_language(self) -> None:
        """Only de, fr and en have templates."""
        with pytest.raises(ValueError, match="language 'it'"):
            documents.producer_email(SONNENBERG, "it")  # type: ignore[arg-type]


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
    view = dataclasses.replace(SONNENBERG, producer=producer)

    csv_name = documents.attachment_name(view)
    pdf_name = documents.attachment_name(view, "pdf")

    assert f"group-order-nord-bestellrunde-kw-50-{expected}.csv" == csv_name
    assert f"group-order-nord-bestellrunde-kw-50-{expected}.pdf" == pdf_name


def test_attachment_names_of_the_other_documents() -> None:
    """Members' list, distribution list and combined order have names of their own."""
    members = documents.attachment_name(SONNENBERG, "csv", part="members")
    distribution = documents.distribution_name(THAL)
    combined = documents.consolidated_name([SONNENBERG, SUED], "csv")

    assert "group-order-nord-bestellrunde-kw-50-hof-sonnenberg-members.csv" == members
    assert "distribution-nord-bestellrunde-kw-50.pdf" == distribution
    assert "group-order-hof-sonnenberg-2026-12-12.csv" == combined
    with pytest.raises(ValueError, match="not a file extension"):
        documents.attachment_name(SONNENBERG, "../pdf")
