"""Payment references: which member a bank credit belongs to.

Three ways a top-up can name its member, from safest to loosest:

QRR (QR reference, only with a QR-IBAN): 27 digits, the last a modulo 10
recursive check digit. pot-bridge lays out its own as::

    positions 1 .. p     the coop prefix, p digits (1 ≤ p ≤ 16), e.g. the
                         customer id some banks require at the front
    positions p+1 .. 26  the member number (WordPress user id), zero padded
    position 27          the check digit

SCOR (ISO 11649 creditor reference, with a normal IBAN): ``RF``, two mod 97
check digits, then up to 21 letters or digits. pot-bridge's payload is a
letters-only coop prefix followed by the member number, e.g. ``RF..NORD42``;
letters only, so the number starts where the prefix ends.

Message: the plugin's QR bill carries neither, only the unstructured text
``TopUp <First Last> (<user_id>)`` (pot-plugin.md §5.5). The member is the one
number in parentheses after the word "TopUp"; no other number is ever taken.

A prefix only works on the coop's own account: a prefix that begins another
one ("21" and "210") cannot tell their references apart.
"""

from __future__ import annotations

import re
import unicodedata

QRR_LENGTH = 27
QRR_PREFIX_MAX = 16
SCOR_PAYLOAD_MAX = 21
SCOR_PREFIX_MAX = 10

# Carry table of the modulo 10 recursive method: next = _MOD10[(carry + digit) % 10].
_MOD10 = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_ALNUM = re.compile(r"[A-Z0-9]+", re.ASCII)
_LETTERS = re.compile(r"[A-Z]+", re.ASCII)
_SCOR = re.compile(r"RF([0-9]{2})([A-Z0-9]{1,21})", re.ASCII)

_TOPUP = re.compile(r"\btop[\s_-]*up\b", re.IGNORECASE | re.ASCII)
_IN_PARENS = re.compile(r"\(\s*0*([1-9][0-9]{0,9})\s*\)", re.ASCII)


def _compact(text: str) -> str:
    """Drop the spaces banks and people put into references for reading."""
    return "".join(text.split()).upper()


def qrr_check_digit(digits26: str) -> str:
    """The modulo 10 recursive check digit of the first 26 digits of a QRR."""
    if len(digits26) != QRR_LENGTH - 1 or not _DIGITS.fullmatch(digits26):
        raise ValueError(f"a QR reference body is 26 digits, not {digits26!r}")

    carry = 0
    for digit in digits26:
        carry = _MOD10[(carry + int(digit)) % 10]

    return str((10 - carry) % 10)


def is_qrr(text: str) -> bool:
    """27 digits (spaces ignored) whose last digit checks the first 26."""
    ref = _compact(text)
    if len(ref) != QRR_LENGTH or not _DIGITS.fullmatch(ref):
        return False

    return qrr_check_digit(ref[:-1]) == ref[-1]


def make_qrr(coop_prefix: str, member_number: int) -> str:
    """The member's QR reference: prefix, zero-padded member number, check digit."""
    if not _DIGITS.fullmatch(coop_prefix) or len(coop_prefix) > QRR_PREFIX_MAX:
        raise ValueError(f"a QRR coop prefix is 1 to 16 digits, not {coop_prefix!r}")
    width = QRR_LENGTH - 1 - len(coop_prefix)
    if member_number < 1 or len(str(member_number)) > width:
        raise ValueError(f"member {member_number} does not fit in {width} digits")

    body = coop_prefix + str(member_number).zfill(width)

    return body + qrr_check_digit(body)


def member_of_qrr(ref: str, coop_prefix: str) -> int | None:
    """The member number in one of this coop's QR references, else None."""
    digits = _compact(ref)
    if not coop_prefix or not is_qrr(digits) or not digits.startswith(coop_prefix):
        return None

    member = int(digits[len(coop_prefix) : QRR_LENGTH - 1])

    return member or None


def _mod97(text: str) -> int:
    """ISO 7064 mod 97-10 remainder, letters counted as A=10 … Z=35."""
    return int("".join(str(int(char, 36)) for char in text)) % 97


def is_scor(text: str) -> bool:
    """An ISO 11649 ``RF`` creditor reference (spaces ignored) with valid check."""
    ref = _compact(text)
    match = _SCOR.fullmatch(ref)
    if match is None:
        return False

    return _mod97(match.group(2) + ref[:4]) == 1


def make_scor(payload: str) -> str:
    """Wrap 1–21 letters or digits into an ``RF`` creditor reference."""
    body = _compact(payload)
    if not _ALNUM.fullmatch(body) or len(body) > SCOR_PAYLOAD_MAX:
        raise ValueError(f"a SCOR payload is 1 to 21 letters or digits: {payload!r}")

    check = 98 - _mod97(body + "RF00")

    return f"RF{check:02d}{body}"


def make_member_scor(coop_prefix: str, member_number: int) -> str:
    """The member's creditor reference: letters-only coop prefix + member number."""
    prefix = coop_prefix.upper()
    if not _LETTERS.fullmatch(prefix) or len(prefix) > SCOR_PREFIX_MAX:
        raise ValueError(f"a SCOR coop prefix is 1 to 10 letters: {coop_prefix!r}")
    if member_number < 1:
        raise ValueError(f"member numbers start at 1, not {member_number}")

    return make_scor(f"{prefix}{member_number}")


def member_of_scor(ref: str, coop_prefix: str) -> int | None:
    """The member number in one of this coop's creditor references, else None."""
    text = _compact(ref)
    prefix = coop_prefix.upper()
    if not prefix or not is_scor(text):
        return None

    payload = text[4:]
    rest = payload[len(prefix) :]
    if not payload.startswith(prefix) or not _DIGITS.fullmatch(rest):
        return None

    return int(rest) or None


def member_of_message(text: str | None) -> int | None:
    """The member in a ``TopUp First Last (123)`` message, or None.

    Tolerated: any case, ``Top-Up`` / ``Top Up``, text before or after,
    spaces inside the parentheses, leading zeros, full-width characters.
    Refused: no "TopUp" word (as a word: not in "desktop upgrade"), no number
    in parentheses after it, or two different numbers in parentheses (which
    member would it be?).
    """
    if not text:
        return None
    plain = unicodedata.normalize("NFKC", text)

    keyword = _TOPUP.search(plain)
    if keyword is None:
        return None

    found = {int(number) for number in _IN_PARENS.findall(plain, keyword.end())}

    return found.pop() if len(found) == 1 else None


def is_iban(text: str) -> bool:
    """A Swiss or Liechtenstein IBAN (spaces ignored) whose check digits hold."""
    iban = _compact(text)
    if not re.fullmatch(r"(CH|LI)[0-9]{7}[0-9A-Z]{12}", iban, re.ASCII):
        return False

    return _mod97(iban[4:] + iban[:4]) == 1


def is_qr_iban(text: str) -> bool:
    """A QR-IBAN: its institution id (positions 5 to 9) is 30000 to 31999.

    Payments to it must carry a QR reference (QRR); a normal IBAN takes SCOR.
    """
    iban = _compact(text)

    return is_iban(iban) and 30000 <= int(iban[4:9]) <= 31999
