"""Payment references: QRR and SCOR check digits, member numbers, plugin messages."""

from __future__ import annotations

import pytest

from pot_bridge.bank.reference import (
    is_qrr,
    is_scor,
    make_member_scor,
    make_qrr,
    make_scor,
    member_of_message,
    member_of_qrr,
    member_of_scor,
    qrr_check_digit,
)

# The sample reference of the QR-bill guidelines, in the grouping printed on bills.
GUIDE_QRR = "21 00000 00003 13947 14300 09017"


# Expected digits worked out with the 10 × 10 carry table of the guidelines,
# written out separately from the code under test.
@pytest.mark.parametrize(
    ("expected", "body"),
    [
        ("7", "21000000000313947143000901"),
        ("0", "00000000000000000000000000"),
        ("3", "10000000000000000000000000"),
        ("7", "12345678901234567890123456"),
    ],
    ids=["guide-sample", "all-zeros", "leading-one", "counting"],
)
def test_qrr_check_digit(expected: str, body: str) -> None:
    """The modulo 10 recursive digit of known bodies."""
    assert expected == qrr_check_digit(body)


def test_qrr_check_digit_refuses_wrong_length() -> None:
    """Only a 26-digit body has a check digit."""
    with pytest.raises(ValueError, match="26 digits"):
        qrr_check_digit("2100000000031394714300090")


@pytest.mark.parametrize(
    "text",
    [GUIDE_QRR, "210000000003139471430009017", "123456789012345678901234567"],
)
def test_is_qrr_accepts_valid(text: str) -> None:
    """Valid references pass, with or without the print grouping."""
    assert is_qrr(text)


@pytest.mark.parametrize(
    "text",
    [
        "210000000003139471430009016",  # wrong check digit
        "210000000003139471430009107",  # two digits swapped
        "21000000000313947143000901",  # 26 digits
        "2100000000031394714300090177",  # 28 digits
        "21000000000313947143000901A",  # a letter
        "RF18539007547034",
        "",
    ],
    ids=["check", "swap", "short", "long", "letter", "scor", "empty"],
)
def test_is_qrr_refuses_invalid(text: str) -> None:
    """Wrong check digit, length or characters: not a QRR."""
    assert not is_qrr(text)


@pytest.mark.parametrize(
    ("expected", "prefix", "member"),
    [
        ("210000000000000000000000426", "210", 42),
        ("123400000000000000000000421", "1234", 42),
        ("100000000000000000000000019", "1", 1),
        ("999999999999999912345678903", "9999999999999999", 1234567890),
    ],
    ids=["short-prefix", "four-digit-prefix", "smallest", "widest-prefix"],
)
def test_make_qrr_layout(expected: str, prefix: str, member: int) -> None:
    """Prefix, zero-padded member number, check digit; and back again."""
    ref = make_qrr(prefix, member)

    assert expected == ref
    assert is_qrr(ref)
    assert member == member_of_qrr(ref, prefix)


@pytest.mark.parametrize(
    ("prefix", "member"),
    [("", 1), ("21a", 1), ("12345678901234567", 1), ("210", 0), ("2100", 10**22)],
    ids=["no-prefix", "letter", "prefix-too-long", "member-zero", "member-too-big"],
)
def test_make_qrr_refuses(prefix: str, member: int) -> None:
    """A prefix that is not 1–16 digits, or a member that does not fit."""
    with pytest.raises(ValueError, match=r"prefix|member"):
        make_qrr(prefix, member)


@pytest.mark.parametrize(
    ("expected", "ref", "prefix"),
    [
        (42, "21 00000 00000 00000 00000 00426", "210"),
        (None, "210000000000000000000000425", "210"),  # bad check digit
        (None, "210000000000000000000000426", "99"),  # another coop's prefix
        (None, "210000000000000000000000000", "210"),  # no member number
        (None, "210000000000000000000000426", ""),
    ],
    ids=["grouped", "bad-check", "other-prefix", "member-zero", "empty-prefix"],
)
def test_member_of_qrr(expected: int | None, ref: str, prefix: str) -> None:
    """Only this coop's valid references name a member."""
    assert expected == member_of_qrr(ref, prefix)


@pytest.mark.parametrize(
    "text",
    ["RF18539007547034", "RF18 5390 0754 7034", "rf18539007547034", "RF85NORD17"],
)
def test_is_scor_accepts_valid(text: str) -> None:
    """ISO 11649 references pass, grouped or not, in any case."""
    assert is_scor(text)


@pytest.mark.parametrize(
    "text",
    [
        "RF18539007547035",  # a changed digit
        "RF19539007547034",  # a changed check digit
        "RF18",  # no payload
        "RF1853900754703412345678901",  # payload longer than 21
        "XX18539007547034",
        "RF18-539007547034",
        "210000000003139471430009017",
    ],
    ids=["digit", "check", "empty", "long", "not-rf", "dash", "qrr"],
)
def test_is_scor_refuses_invalid(text: str) -> None:
    """A changed character or a wrong shape: not a SCOR."""
    assert not is_scor(text)


def test_make_scor_known_example() -> None:
    """The standard's example payload gets check digits 18."""
    assert "RF18539007547034" == make_scor("5390 0754 7034")


@pytest.mark.parametrize("payload", ["", "NORD-17", "A" * 22])
def test_make_scor_refuses(payload: str) -> None:
    """Empty, punctuated or over-long payloads are refused."""
    with pytest.raises(ValueError, match="SCOR payload"):
        make_scor(payload)


@pytest.mark.parametrize(
    ("prefix", "member"), [("NORD", 17), ("nord", 42), ("POT", 1234567890)]
)
def test_member_scor_round_trip(prefix: str, member: int) -> None:
    """A member's creditor reference names that member again."""
    ref = make_member_scor(prefix, member)

    assert is_scor(ref)
    assert member == member_of_scor(ref, prefix)


@pytest.mark.parametrize(
    ("prefix", "member"), [("N0RD", 1), ("", 1), ("NORD", 0), ("ABCDEFGHIJK", 1)]
)
def test_make_member_scor_refuses(prefix: str, member: int) -> None:
    """The prefix must be 1–10 letters and the member number positive."""
    with pytest.raises(ValueError, match=r"prefix|member"):
        make_member_scor(prefix, member)


@pytest.mark.parametrize(
    ("expected", "ref", "prefix"),
    [
        (17, "RF85 NORD 17", "NORD"),
        (None, "RF85NORD18", "NORD"),  # bad check
        (None, "RF85NORD17", "SUED"),  # another coop
        (None, "RF18539007547034", "NORD"),  # a valid reference not ours
        (None, make_scor("NORDX17"), "NORD"),  # letters after the prefix
        (None, make_scor("NORD"), "NORD"),  # no number
    ],
    ids=["ours", "bad-check", "other-coop", "foreign", "letters", "no-number"],
)
def test_member_of_scor(expected: int | None, ref: str, prefix: str) -> None:
    """Only this coop's valid creditor references name a member."""
    assert expected == member_of_scor(ref, prefix)


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (42, "TopUp Anna Muster (42)"),
        (42, "topup anna muster (42)"),
        (42, "TOPUP ANNA MUSTER (42)"),
        (42, "Top-Up Anna Muster (42)"),
        (42, "Top Up Anna Muster (42)"),
        (42, "TopUp Anna Muster(42)"),
        (42, "TopUp Anna Muster ( 42 )"),
        (42, "TopUp Anna Muster (0042)"),
        (42, "Mitteilung: TopUp Anna Muster (42) danke"),
        (42, "TopUp Anna (Annie) Muster (42)"),
        (42, "TopUp Anna Muster (42) TopUp Anna Muster (42)"),
        (42, "TopUp Anna Muster （４２）"),
        (1234, "TopUp Jean-Luc Müller-Lüdenscheidt (1234)"),
        (None, "Anna Muster (42)"),
        (None, "TopUp Anna Muster 42"),
        (None, "TopUp Anna Muster (42.50)"),
        (None, "TopUp Anna Muster (0)"),
        (None, "TopUp Anna (42) Beat (43)"),
        (None, "(42) TopUp Anna Muster"),
        (None, "Rechnung 2026-48 (17) Gemüse"),
        (None, "TopUp Anna Muster [42]"),
        (None, "Desktop upgrade (3)"),
        (None, "TopUpAnna Muster (42)"),
        (None, ""),
        (None, None),
    ],
    ids=[
        "plugin",
        "lower",
        "upper",
        "hyphen",
        "space",
        "no-space",
        "spaced-parens",
        "leading-zeros",
        "bank-text-around",
        "nickname",
        "repeated-same",
        "full-width",
        "long-name",
        "no-keyword",
        "no-parens",
        "amount-in-parens",
        "zero",
        "two-members",
        "number-before-keyword",
        "invoice",
        "brackets",
        "inside-words",
        "glued-to-name",
        "empty",
        "none",
    ],
)
def test_member_of_message(expected: int | None, text: str | None) -> None:
    """The number in parentheses after "TopUp", and no other number."""
    assert expected == member_of_message(text)
