"""Members' QR-bills: the Swiss Payments Code field by field, the QR code, the page.

Expected payloads are written from SIX's Swiss Implementation Guidelines for
the QR-bill (2.x): header SPC / 0200 / 1, account, creditor as a structured
address, 7 empty lines of ultimate creditor, amount and currency, 7 lines of
debtor, reference type and reference, message, trailer EPD.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pypdf
import pytest
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Rect
from reportlab.lib import colors
from reportlab.lib.units import mm

from pot_bridge.bank.reference import (
    is_qrr,
    is_scor,
    member_of_message,
    member_of_qrr,
    member_of_scor,
)
from pot_bridge.config import CoopConfig
from pot_bridge.credit.qrbill import (
    Address,
    latin,
    member_bill,
    payload,
    qr_code,
    qrbill_pdf,
)
from pot_bridge.errors import ConfigError, SkipItemError

QR_IBAN = "CH44 3199 9123 0008 8901 2"  # the guidelines' own QR-IBAN
IBAN = "CH93 0076 2011 6238 5295 7"  # a normal IBAN (institution 00762)
EMPTY_ADDRESS = [""] * 7


def coop(**credit: Any) -> CoopConfig:
    settings: dict[str, Any] = {"iban": QR_IBAN, "reference_prefix": "21"}
    settings.update(credit)
    return CoopConfig(
        slug="nord",
        name="Foodcoop Nord",
        shop_url="http://127.0.0.1:8080",
        wp_user="bridge",
        address=["Foodcoop Nord", "Lagerstrasse 12a", "8400 Winterthur"],
        credit=settings,
    )


def lines_of(text: str) -> list[str]:
    return text.split("\r\n")


def mod10_recursive(digits: str) -> str:
    """The QRR check digit, written from the guidelines' table, apart from
    pot_bridge.bank.reference."""
    table = [0, 9, 4, 6, 8, 2, 7, 1, 3, 5]
    carry = 0
    for digit in digits:
        carry = table[(carry + int(digit)) % 10]
    return str((10 - carry) % 10)


# -- the payload -------------------------------------------------------------------


def test_qr_iban_bill_field_by_field() -> None:
    """Member 42 of a coop on a QR-IBAN, amount left to the member."""
    bill = member_bill(coop(), 42, "Anna Müller")
    reference = "21" + "42".zfill(24)
    reference += mod10_recursive(reference)

    assert [
        "SPC",
        "0200",
        "1",
        "CH4431999123000889012",
        "S",
        "Foodcoop Nord",
        "Lagerstrasse",
        "12a",
        "8400",
        "Winterthur",
        "CH",
        *EMPTY_ADDRESS,
        "",
        "CHF",
        *EMPTY_ADDRESS,
        "QRR",
        reference,
        "TopUp Anna Müller (42)",
        "EPD",
    ] == lines_of(payload(bill))


def test_qrr_check_digit_and_member() -> None:
    """The guidelines' sample reference checks with the same table, and the
    bank import reads member 42 back from the bill's reference."""
    bill = member_bill(coop(), 42)
    sample = "210000000003139471430009017"

    assert "7" == mod10_recursive(sample[:26])
    assert is_qrr(sample)
    assert 27 == len(bill.reference)
    assert mod10_recursive(bill.reference[:26]) == bill.reference[-1]
    assert is_qrr(bill.reference)
    assert 42 == member_of_qrr(bill.reference, "21")


def test_normal_iban_takes_a_creditor_reference() -> None:
    bill = member_bill(coop(iban=IBAN, reference_prefix="NORD"), 7, "Jo Meier")
    lines = lines_of(payload(bill))

    assert "CH9300762011623852957" == lines[3]
    assert "SCOR" == lines[27]
    assert lines[28].startswith("RF")
    assert is_scor(lines[28])
    assert 7 == member_of_scor(lines[28], "NORD")
    assert "TopUp Jo Meier (7)" == lines[29]


def test_without_prefix_the_message_alone_names_the_member() -> None:
    bill = member_bill(coop(iban=IBAN, reference_prefix=""), 7, "Jo Meier")
    lines = lines_of(payload(bill))

    assert ["NON", "", "TopUp Jo Meier (7)", "EPD"] == lines[27:]
    assert 7 == member_of_message(lines[29])


def test_a_member_without_name_still_gets_their_number() -> None:
    bill = member_bill(coop(), 42, "  ")

    assert "TopUp (42)" == bill.message
    assert 42 == member_of_message(bill.message)


@pytest.mark.parametrize(
    ("given", "field"),
    [(Decimal(50), "50.00"), (Decimal("1949.75"), "1949.75"), ("0.10", "0.10")],
)
def test_amount_with_two_decimals_and_a_point(given: Any, field: str) -> None:
    bill = member_bill(coop(), 42, amount=given)

    assert field == lines_of(payload(bill))[18]


@pytest.mark.parametrize(
    "amount", [Decimal(0), Decimal(-5), Decimal("0.005"), Decimal("1000000000.00")]
)
def test_amounts_a_bill_cannot_carry_are_refused(amount: Decimal) -> None:
    with pytest.raises(SkipItemError, match=r"coop nord: a QR-bill amount is 0\.01"):
        member_bill(coop(), 42, amount=amount)


def test_debtor_with_a_full_address() -> None:
    debtor = Address("Anna\nMüller", "Rosenweg", "3", "8400", "Winterthur", "ch")
    bill = member_bill(coop(), 42, "Anna Müller", debtor=debtor)

    assert ["S", "Anna Müller", "Rosenweg", "3", "8400", "Winterthur", "CH"] == (
        lines_of(payload(bill))[20:27]
    )


@pytest.mark.parametrize(
    ("debtor", "problem"),
    [
        (Address("Anna Müller", "Rosenweg", "3", "", ""), "needs name, postcode"),
        (Address("Anna", "", "", "8400", "Winterthur", "Schweiz"), "two-letter"),
        (Address("Anna", "", "", "8400", "W" * 36), "town 'WWW"),
    ],
    ids=["no-town", "country-name", "town-too-long"],
)
def test_debtor_a_bill_cannot_carry(debtor: Address, problem: str) -> None:
    with pytest.raises(SkipItemError, match=problem):
        member_bill(coop(), 42, debtor=debtor)


# -- errors in the coop's settings --------------------------------------------------


def test_no_iban_names_the_coop() -> None:
    with pytest.raises(
        ConfigError, match=r"coop nord: no IBAN .*\[coop\.credit\] iban"
    ):
        member_bill(coop(iban=None, reference_prefix=""), 42)


def test_qr_iban_needs_a_prefix() -> None:
    with pytest.raises(ValueError, match="reference_prefix must be 1 to 16 digits"):
        coop(reference_prefix="")

    # a configuration built around the check is still refused by the bill
    config = coop()
    unchecked = config.credit.model_copy(update={"reference_prefix": ""})
    with pytest.raises(ConfigError, match="coop nord: a QR-IBAN needs QR references"):
        member_bill(config.model_copy(update={"credit": unchecked}), 42)


def test_an_address_without_town_is_refused() -> None:
    config = coop().model_copy(update={"address": ["Lagerstrasse 12a"]})

    with pytest.raises(ConfigError, match="coop nord: the address needs a line"):
        member_bill(config, 42)


def test_a_creditor_name_too_long_is_refused() -> None:
    config = coop().model_copy(update={"name": "Foodcoop " + "Nord" * 20})

    with pytest.raises(ConfigError, match="longer than the 70 characters"):
        member_bill(config, 42)


@pytest.mark.parametrize(
    ("address", "fields"),
    [
        (
            ["Hauptstrasse 5", "CH-3000 Bern"],
            ["Hauptstrasse", "5", "3000", "Bern", "CH"],
        ),
        (["Im Feld", "9490 Vaduz"], ["Im Feld", "", "9490", "Vaduz", "LI"]),
        (
            ["c/o Hof", "Rue du Marché 12 B", "1204 Genève"],
            ["Rue du Marché", "12 B", "1204", "Genève", "CH"],
        ),
        (["8400 Winterthur"], ["", "", "8400", "Winterthur", "CH"]),
    ],
    ids=["country-prefix", "liechtenstein", "extra-line", "town-only"],
)
def test_creditor_address_from_the_coops_lines(
    address: list[str], fields: list[str]
) -> None:
    config = coop().model_copy(update={"address": address})

    assert ["S", "Foodcoop Nord", *fields] == (
        lines_of(payload(member_bill(config, 1)))[4:11]
    )


# -- the character set -------------------------------------------------------------


def allowed(char: str) -> bool:
    code = ord(char)
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0x17F
        or code in (0x218, 0x219, 0x21A, 0x21B, 0x20AC)
    )


def test_characters_outside_the_set_are_replaced() -> None:
    """Latin-1 and Latin Extended-A stay, typographic marks become plain, a
    line break cannot add a line, other scripts become "?"."""
    name = "Zoë “Ștefan” Łukasz–ǅ 李\nNeu"
    bill = member_bill(coop(), 42, name)
    lines = lines_of(payload(bill))

    assert 31 == len(lines)
    assert 'TopUp Zoë "Ștefan" Łukasz-Dz ? Neu (42)' == lines[29]
    assert all(allowed(char) for line in lines for char in line)


def test_a_long_name_is_cut_but_keeps_the_member_number() -> None:
    bill = member_bill(coop(), 1234567, "Anna " + "Maria " * 40)

    assert len(bill.message) <= 140
    assert bill.message.endswith(" (1234567)")
    assert 1234567 == member_of_message(bill.message)


def test_latin_keeps_what_the_set_allows() -> None:
    assert "Œuvre Ärger ŝ €" == latin("Œuvre\tÄrger  ŝ €")


# -- the QR code -------------------------------------------------------------------


def test_qr_code_holds_the_payload_in_utf8_bytes() -> None:
    """One byte segment with the payload's UTF-8, error correction M, 46 mm
    without quiet zone, at most version 25."""
    bill = member_bill(coop(), 42, "Anna Müller", Decimal("20.00"))
    drawing = qr_code(bill)
    widget = drawing.contents[0]
    assert isinstance(widget, QrCodeWidget)
    widget.draw()  # encodes: the module matrix is made here

    assert [payload(bill).encode("utf-8")] == [segment.data for segment in widget.value]
    assert "M" == widget.barLevel
    assert (46 * mm, 46 * mm, 0) == (
        widget.barWidth,
        widget.barHeight,
        widget.barBorder,
    )
    assert widget.qr.version <= 25
    assert 4 * widget.qr.version + 17 == len(widget.qr.modules)


def test_the_swiss_cross_sits_in_the_middle() -> None:
    """A 7 mm white square, centred, with a black square and the white cross."""
    drawing = qr_code(member_bill(coop(), 42))
    shapes = [s for s in drawing.contents[1:] if isinstance(s, Rect)]
    frame, square = shapes[0], shapes[1]

    assert (46 * mm, 46 * mm) == (drawing.width, drawing.height)
    assert pytest.approx(7 * mm) == frame.width == frame.height
    assert pytest.approx(23 * mm) == frame.x + frame.width / 2
    assert pytest.approx(23 * mm) == frame.y + frame.height / 2
    assert colors.white == frame.fillColor
    assert colors.black == square.fillColor
    assert 4 == len(shapes)


# -- the PDF -----------------------------------------------------------------------


def placed(pdf: bytes) -> list[tuple[str, float, float]]:
    """Each string drawn on the page with its place in millimetres."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert 1 == len(reader.pages)
    found: list[tuple[str, float, float]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            x, y = cm[4] + tm[4], cm[5] + tm[5]
            found.append((text.strip(), round(x / mm, 1), round(y / mm, 1)))

    reader.pages[0].extract_text(visitor_text=visit)
    return found


def at(found: list[tuple[str, float, float]], text: str) -> list[tuple[float, float]]:
    return [(x, y) for value, x, y in found if value == text]


def test_pdf_receipt_and_payment_part_at_the_foot_of_a4() -> None:
    """Titles 5 mm inside each part; the payment part starts at 62 mm; all of
    the bill within the bottom 105 mm."""
    pdf = qrbill_pdf(coop(), 42, "Anna Müller")
    found = placed(pdf)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]

    assert (595, 842) == (round(page.mediabox.width), round(page.mediabox.height))
    [(receipt_x, receipt_y)] = at(found, "Empfangsschein")
    [(payment_x, payment_y)] = at(found, "Zahlteil")
    assert (5.0, 67.0) == (receipt_x, payment_x)
    assert 95 < receipt_y == payment_y < 100
    [(info_x, info_y)] = at(found, "Zusätzliche Informationen")
    assert 118.0 == info_x  # 62 + 56 mm: the payment part's right column
    assert 15 < info_y < 100
    receipt, payment = at(found, "21 00000 00000 00000 00000 00426")[-2:]
    assert receipt[0] == 5.0
    assert payment[0] == 118.0
    [(acceptance_x, _)] = at(found, "Annahmestelle")
    assert 30 < acceptance_x < 57  # right-aligned in the receipt


@pytest.mark.parametrize(
    ("lang", "headings"),
    [
        (
            "de",
            ["Empfangsschein", "Zahlteil", "Konto / Zahlbar an", "Referenz",
             "Zusätzliche Informationen", "Zahlbar durch (Name/Adresse)",
             "Währung", "Betrag", "Annahmestelle", "Vor der Einzahlung abzutrennen"],
        ),
        (
            "fr",
            ["Récépissé", "Section paiement", "Compte / Payable à", "Référence",
             "Informations supplémentaires", "Payable par (nom/adresse)",
             "Monnaie", "Montant", "Point de dépôt", "A détacher avant le versement"],
        ),
        (
            "en",
            ["Receipt", "Payment part", "Account / Payable to", "Reference",
             "Additional information", "Payable by (name/address)",
             "Currency", "Amount", "Acceptance point", "Separate before paying in"],
        ),
    ],
)  # fmt: skip
def test_pdf_headings_in_the_coops_language(lang: str, headings: list[str]) -> None:
    config = coop().model_copy(update={"language": lang})
    texts = {text for text, _, _ in placed(qrbill_pdf(config, 42, "Anna Müller"))}

    assert set(headings) <= texts


def test_pdf_says_what_the_bill_is_for_and_prints_what_the_code_holds() -> None:
    pdf = qrbill_pdf(coop(), 42, "Anna Müller", Decimal("1949.75"))
    texts = [text for text, _, _ in placed(pdf)]

    assert "Guthaben aufladen" in texts
    assert any("Foodcoop Nord auf" in text for text in texts)
    assert "Anna Müller (Nr. 42)" in texts
    assert 3 == texts.count("CH44 3199 9123 0008 8901 2")  # top, receipt, payment
    assert 2 == texts.count("TopUp Anna Müller (42)")  # top and payment part
    assert 2 == texts.count("1 949.75")  # receipt and payment part
    assert "CHF 1 949.75" in texts
    assert 3 == texts.count("8400 Winterthur")


def test_pdf_prints_letters_its_fonts_lack_without_accents() -> None:
    """The code keeps "ő"; the printed bill, in Helvetica, shows "o"."""
    pdf = qrbill_pdf(coop(), 42, "Ödön Kőrösi")
    texts = [text for text, _, _ in placed(pdf)]

    assert "TopUp Ödön Korösi (42)" in texts
    assert "TopUp Ödön Kőrösi (42)" == member_bill(coop(), 42, "Ödön Kőrösi").message


def test_same_bill_same_bytes() -> None:
    first = qrbill_pdf(coop(), 42, "Anna Müller", Decimal(30))

    assert first == qrbill_pdf(coop(), 42, "Anna Müller", Decimal(30))
    assert first != qrbill_pdf(coop(), 43, "Anna Müller", Decimal(30))
