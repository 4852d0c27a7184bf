"""Names and addresses on a QR-bill, in the bill's character set.

The guidelines allow Latin, Latin-1, Latin Extended-A and Ș ș Ț ț € only. Text
outside that set is replaced, not refused (`latin`), since it mostly comes
from members' names. A field longer than a structured address (type "S")
takes is refused: in the coop's own address as a configuration error, in a
payer's as an error of that one bill.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pot_bridge.config import CoopConfig
from pot_bridge.errors import ConfigError, SkipItemError

# Field lengths of a structured address ("S") in the guidelines.
_LIMITS = {"name": 70, "street": 70, "house number": 16, "postcode": 16, "town": 35}

_SPECIAL = {0x0218, 0x0219, 0x021A, 0x021B, 0x20AC}  # Ș ș Ț ț €
_LOOKALIKE = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "…": "...",
    }
)
_TOWN_LINE = re.compile(
    r"(?:(?P<country>CH|LI)\s*-\s*)?(?P<postcode>[0-9]{4})\s+(?P<town>\S.*)",
    re.IGNORECASE,
)
_STREET_LINE = re.compile(r"(?P<street>.*\S)\s+(?P<house>[0-9]+\s?[A-Za-z]?)")
_LIECHTENSTEIN = range(9485, 9499)


@dataclass(frozen=True)
class Address:
    """A structured address (type "S"), in the bill's character set."""

    name: str
    street: str
    house: str
    postcode: str
    town: str
    country: str = "CH"

    def fields(self) -> list[str]:
        """The seven payload lines of this address."""
        return [
            "S",
            self.name,
            self.street,
            self.house,
            self.postcode,
            self.town,
            self.country,
        ]

    def lines(self) -> list[str]:
        """The address as printed on the bill."""
        street = " ".join(part for part in (self.street, self.house) if part)
        town = f"{self.postcode} {self.town}"
        if self.country != "CH":
            town = f"{self.country}-{town}"

        return [line for line in (self.name, street, town) if line]


def coop_address(coop: CoopConfig) -> Address:
    """The coop as creditor: its name and the street and town of its address.

    The town line is the last one that starts with a four-digit postal code
    (``8400 Winterthur``, ``CH-8400 …``, ``LI-9490 …``); the line before it,
    when there is one, is the street, with the house number at its end.
    """
    name = _fitted(coop, "name", latin(coop.name))
    lines = [latin(line) for line in coop.address if latin(line)]
    if lines and lines[0] == name:
        lines.pop(0)

    towns = [i for i, line in enumerate(lines) if _TOWN_LINE.fullmatch(line)]
    if not towns:
        raise ConfigError(
            "the address needs a line with postal code and town (e.g. "
            "'8400 Winterthur') for QR-bills",
            coop=coop.slug,
        )
    found = _TOWN_LINE.fullmatch(lines[towns[-1]])
    assert found is not None
    postcode = found["postcode"]
    country = (found["country"] or "").upper()
    if not country:
        country = "LI" if int(postcode) in _LIECHTENSTEIN else "CH"

    street = house = ""
    if towns[-1] > 0:
        street_line = lines[towns[-1] - 1]
        street, house = street_line, ""
        numbered = _STREET_LINE.fullmatch(street_line)
        if numbered:
            street, house = numbered["street"], numbered["house"]

    return Address(
        name=name,
        street=_fitted(coop, "street", street),
        house=_fitted(coop, "house number", house),
        postcode=postcode,
        town=_fitted(coop, "town", found["town"]),
        country=country,
    )


def latin(value: str) -> str:
    """`value` on one line, in the QR-bill's character set.

    Letters outside it lose their accents where that brings them in (ǅ → Dz),
    typographic quotes and dashes become plain ones, line breaks and other
    controls become spaces, and whatever is left becomes "?".
    """
    plain = unicodedata.normalize("NFC", value).translate(_LOOKALIKE)
    kept = []
    for char in plain:
        if _allowed(char):
            kept.append(char)
        elif not char.isprintable() or char.isspace():
            kept.append(" ")
        else:
            folded = unicodedata.normalize("NFKD", char)
            bases = [c for c in folded if not unicodedata.combining(c)]
            fits = bases and all(_allowed(c) for c in bases)
            kept.append("".join(bases) if fits else "?")

    return " ".join("".join(kept).split())


def checked_debtor(coop: CoopConfig, debtor: Address) -> Address:
    """The payer's address in the character set; it needs postcode and town."""
    fields = {
        "name": latin(debtor.name),
        "street": latin(debtor.street),
        "house number": latin(debtor.house),
        "postcode": latin(debtor.postcode),
        "town": latin(debtor.town),
    }
    for what, value in fields.items():
        if len(value) > _LIMITS[what]:
            raise SkipItemError(
                f"payer's {what} {value!r} is longer than {_LIMITS[what]} characters",
                coop=coop.slug,
            )
    country = latin(debtor.country).upper()
    if not (fields["name"] and fields["postcode"] and fields["town"]):
        raise SkipItemError(
            "a payer on a QR-bill needs name, postcode and town", coop=coop.slug
        )
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise SkipItemError(
            f"payer's country {country!r} is not a two-letter code", coop=coop.slug
        )

    return Address(
        name=fields["name"],
        street=fields["street"],
        house=fields["house number"],
        postcode=fields["postcode"],
        town=fields["town"],
        country=country,
    )


def _allowed(char: str) -> bool:
    code = ord(char)

    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0x17F or code in _SPECIAL


def _fitted(coop: CoopConfig, what: str, value: str) -> str:
    """The coop's own address field, refused when longer than a bill takes."""
    limit = _LIMITS[what]
    if len(value) > limit:
        raise ConfigError(
            f"the {what} {value!r} is longer than the {limit} characters a "
            "QR-bill takes",
            coop=coop.slug,
        )

    return value
