"""What WordPress and WooCommerce do to text before they store or show it.

The sandbox stores what a real shop would store, so a bridge that sends
"3,50" reads back "350" and a name with "&" reads back "&amp;". Each function
here mirrors one PHP function, for the inputs a coop's catalog produces; none
of them is a complete port.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

_TAGS = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
# ß, æ and the like have no decomposition; WordPress's remove_accents maps them
_LIGATURES = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O"})


def wc_clean(value: object) -> str:
    """sanitize_text_field: no tags, no %xx octets, whitespace collapsed."""
    text = _TAGS.sub("", str(value))
    text = re.sub(r"%[a-fA-F0-9]{2}", "", text)

    return re.sub(r"[\r\n\t ]+", " ", text).strip()


def wc_format_decimal(value: object) -> str:
    """wc_format_decimal without `dp` on a shop whose decimal separator is ".".

    Only "." survives as a separator: "3,50" becomes "350" and "1'234.50"
    becomes "1234.50". A JSON number (a PHP float) keeps its value, trailing
    zeros cut.
    """
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, Decimal):
        text = f"{value.quantize(Decimal('0.000001'), rounding=ROUND_HALF_UP):f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    text = wc_clean(value)

    return re.sub(r"\.(?![^.]+$)|[^0-9.-]", "", text)


def php_int(value: object) -> int:
    """PHP's intval, which wc_stock_amount and absint build on."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | Decimal):
        return int(value)
    match = re.match(r"\s*([+-]?\d+)", str(value or ""))

    return int(match.group(1)) if match else 0


def wc_string_to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("yes", "true", "1")


def remove_accents(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in plain if not unicodedata.combining(c))


def sanitize_title(text: str) -> str:
    """The slug WordPress derives from a title ("Äpfel & Birnen" -> "apfel-birnen")."""
    text = remove_accents(_TAGS.sub("", text)).lower()
    text = _ENTITY.sub("", text).replace(".", "-")
    text = re.sub(r"[^a-z0-9 _-]", "", text)
    text = re.sub(r"\s+", "-", text)

    return re.sub(r"-+", "-", text).strip("-")


def term_name(text: str) -> str:
    """A term name as stored: clean text, a bare `&` escaped, entities kept."""
    clean = wc_clean(text)
    clean = re.sub(
        r"&(?!(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)", "&amp;", clean
    )

    return clean.replace("<", "&lt;").replace(">", "&gt;")


def wpautop(text: str) -> str:
    """Paragraphs as the storefront (and a `view` read) shows raw descriptions."""
    if not text.strip():
        return ""
    if re.match(r"\s*<(p|div|ul|ol|h\d|table|blockquote)\b", text):
        return text if text.endswith("\n") else text + "\n"
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]

    return "".join(f"<p>{b.replace(chr(10), '<br />' + chr(10))}</p>\n" for b in blocks)
