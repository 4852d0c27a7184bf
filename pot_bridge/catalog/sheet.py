"""The POT plugin's product sheet (XLSX or CSV) as a source of the central catalog.

The sheet is the one the plugin imports and exports: a header row with its 16
columns in their order (`stock` as a 17th since plugin 1.7.8), then one product
per row. What pot-bridge makes of it:

- Producers come from `supplier`, the name the plugin groups every list by.
  The sheet has no producer IDs, so a producer's POT ID here is a slug of that
  name: lower case, umlauts as ae/oe/ue, ß as ss, other accents dropped, every
  run of other characters one `-`, at most 64 characters ("Hof Müller AG" is
  `hof-mueller-ag`). Two spellings that give one slug are reported, not merged.
  `producer` (the plugin's informational `_produzent`) becomes the product's
  `grower`.
- `lot` is the pack size and must be a number above 0; `price` and `lot` take a
  decimal comma (`4,80`). A price with more than two decimals is refused.
- `tax` is the WooCommerce tax class slug: empty is standard VAT,
  `reduced-rate` reduced, `zero-rate` zero; anything else is a problem.
- `stock`: empty or 0 is out of stock; -1 (unlimited) or a positive number is
  available. Without the column every product is available.
- `pot_id` must be a number, as the plugin requires. A row without one is
  reported and skipped: pot-bridge matches central products by POT ID only.
- `id` (one shop's own product ID) and `weight` are not read.
- The plugin's required columns (name, price, unit, lot, producer, origin,
  category, supplier) must have a value.

A row breaking a rule is reported with its line as a spreadsheet shows it
(the header is line 1) and its column, and skipped; the other rows are used.
Empty rows are passed over. CSV is UTF-8 with or without a BOM, separated by
`;` (the plugin's export) or `,`: whichever the header line contains.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import openpyxl
import structlog
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError

from pot_bridge.catalog.errors import SheetError
from pot_bridge.catalog.model import (
    Catalog,
    CatalogProblem,
    CentralProducer,
    CentralProduct,
    Spot,
    VatClass,
    build_catalog,
    field_errors,
)

log = structlog.get_logger(__name__)

COLUMNS = (
    "name",
    "price",
    "unit",
    "lot",
    "producer",
    "origin",
    "category",
    "id",
    "short_description",
    "image",
    "description",
    "sku",
    "supplier",
    "tax",
    "pot_id",
    "weight",
)
STOCK = "stock"
REQUIRED = (
    "name",
    "price",
    "unit",
    "lot",
    "producer",
    "origin",
    "category",
    "supplier",
)
TAX_CLASSES: dict[str, VatClass] = {
    "": "standard",
    "reduced-rate": "reduced",
    "zero-rate": "zero",
}
# The model's field names where the sheet's column is called otherwise.
COLUMN_OF = {
    "pack_size": "lot",
    "image_url": "image",
    "producer_id": "supplier",
    "vat": "tax",
    "available": "stock",
    "grower": "producer",
}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})

Cell = object


@dataclass(frozen=True)
class SheetRead:
    """One reading; `etag` is the file's hash, `last_modified` its mtime."""

    source: str
    catalog: Catalog
    problems: tuple[CatalogProblem, ...]
    etag: str
    last_modified: str


def sheet_source(path: Path) -> str:
    """How snapshots name the sheet: its absolute path, links not followed."""
    return str(path.absolute())


def file_stamp(path: Path) -> str:
    """The file's modification time, exact to the microsecond, in UTC."""
    try:
        nanoseconds = path.stat().st_mtime_ns
    except OSError as exc:
        raise SheetError(f"product sheet {path}: {exc.strerror}") from None
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)

    return moment.isoformat()


def file_etag(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SheetError(f"product sheet {path}: {exc.strerror}") from None


def producer_slug(name: str) -> str:
    """The POT ID a sheet's supplier gets: stable for one spelling of the name."""
    plain = unicodedata.normalize("NFKD", name.lower().translate(_UMLAUTS))
    ascii_only = plain.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:64].strip("-")
    if slug:
        return slug

    return "supplier-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def read_sheet(path: Path) -> SheetRead:
    """Read an XLSX (first sheet) or CSV product sheet into a catalog."""
    stamp = file_stamp(path)  # before reading: a later change shows next time
    data = read_bytes(path)
    rows = _rows(path, data)

    header = next(rows, None)
    if header is None:
        raise SheetError(f"product sheet {path} is empty")
    columns = _columns(path, header)

    producers: dict[str, tuple[Spot, CentralProducer]] = {}
    products: list[tuple[Spot, CentralProduct]] = []
    problems: list[CatalogProblem] = []
    for line, cells in enumerate(rows, start=2):
        if all(_text(cell) == "" for cell in cells):
            continue
        spot = Spot(f"line {line}", line)
        read = _row(spot, columns, cells)
        if isinstance(read, CatalogProblem):
            problems.append(read)
            continue

        product, producer = read
        first = producers.setdefault(producer.pot_id, (spot, producer))
        if first[1].name != producer.name:
            problems.append(_same_slug(spot, producer, first, product.pot_id))
            continue
        products.append((spot, product))

    catalog, refused = build_catalog(producers.values(), products)
    problems += refused
    # A supplier whose every row was refused is no producer of this catalog.
    used = {product.producer_id for product in catalog.products.values()}
    catalog = Catalog(
        producers={k: v for k, v in catalog.producers.items() if k in used},
        products=catalog.products,
    )
    log.info(
        "catalog.sheet.read",
        path=str(path),
        producers=len(catalog.producers),
        products=len(catalog.products),
        problems=len(problems),
    )

    return SheetRead(
        source=sheet_source(path),
        catalog=catalog,
        problems=tuple(sorted(problems, key=lambda p: p.line or 0)),
        etag=file_etag(data),
        last_modified=stamp,
    )


def _same_slug(
    spot: Spot,
    producer: CentralProducer,
    first: tuple[Spot, CentralProducer],
    pot_id: str,
) -> CatalogProblem:
    return spot.problem(
        "supplier",
        f'"{producer.name}" and "{first[1].name}" ({first[0].item}) give one '
        f"producer ID {producer.pot_id!r}; spell the supplier alike in every row",
        pot_id,
    )


def _rows(path: Path, data: bytes) -> Iterator[Sequence[Cell]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(path, data)
    if suffix == ".csv":
        return _csv_rows(path, data)
    raise SheetError(
        f"product sheet {path}: {suffix or 'no suffix'} is not read; "
        "save it as .xlsx or .csv"
    )


def _xlsx_rows(path: Path, data: bytes) -> Iterator[Sequence[Cell]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise SheetError(
            f"product sheet {path} is not a readable XLSX file ({type(exc).__name__})"
        ) from None

    # Formulas are read as the values the spreadsheet last computed.
    try:
        yield from book.worksheets[0].iter_rows(values_only=True)
    finally:
        book.close()


def _csv_rows(path: Path, data: bytes) -> Iterator[Sequence[Cell]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError(
            f"product sheet {path} is not UTF-8; save it as CSV in UTF-8"
        ) from None

    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line else ","
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _columns(path: Path, header: Sequence[Cell]) -> tuple[str, ...]:
    found = [_text(cell) for cell in header]
    while found and found[-1] == "":
        found.pop()
    if tuple(found) in (COLUMNS, (*COLUMNS, STOCK)):
        return tuple(found)

    expected = [*COLUMNS, STOCK]
    at = next(
        (
            i
            for i, name in enumerate(found)
            if i >= len(expected) or name != expected[i]
        ),
        len(found),
    )
    wanted = expected[at] if at < len(expected) else "nothing"
    seen = repr(found[at]) if at < len(found) else "nothing"
    raise SheetError(
        f"product sheet {path}: the header must be the POT plugin's columns in "
        f"this order: {', '.join(COLUMNS)} (and {STOCK} as a 17th, optional); "
        f"found: {', '.join(found) or 'nothing'}; column {at + 1} is {seen} "
        f"where {wanted!r} was expected"
    )


def _row(
    spot: Spot, columns: tuple[str, ...], cells: Sequence[Cell]
) -> tuple[CentralProduct, CentralProducer] | CatalogProblem:
    extra = [_text(cell) for cell in cells[len(columns) :] if _text(cell)]
    if extra:
        return spot.problem(
            "",
            f"has values past the last column ({', '.join(extra)[:60]}); "
            "is a separator inside an unquoted text?",
        )
    values = dict(zip(columns, [*cells, *[None] * len(columns)], strict=False))

    pot_id = _text(values["pot_id"])
    if not pot_id:
        return spot.problem(
            "pot_id", "missing: pot-bridge knows central products by POT ID only"
        )
    errors = [(column, "missing") for column in REQUIRED if not _text(values[column])]
    if not pot_id.isascii() or not pot_id.isdigit():
        errors.append(("pot_id", f'must be a number: "{pot_id}"'))

    fields: dict[str, object] = {"pot_id": pot_id, "grower": _text(values["producer"])}
    for key in ("name", "unit", "origin", "category", "short_description"):
        fields[key] = _text(values[key])
    fields["description"] = _text(values["description"])
    fields["image_url"] = _text(values["image"])
    fields["sku"] = _text(values["sku"])
    supplier = _text(values["supplier"])
    fields["producer_id"] = producer_slug(supplier) if supplier else ""

    blamed = {column for column, _ in errors}
    converters = [("price", "price"), ("lot", "pack_size"), ("tax", "vat")]
    if STOCK in columns:
        converters.append((STOCK, "available"))
    for column, key in converters:
        if column in blamed:
            continue
        try:
            fields[key] = _convert(column, values[column])
        except ValueError as exc:
            errors.append((column, str(exc)))

    return _validated(spot, fields, supplier, errors)


def _validated(
    spot: Spot, fields: dict[str, object], supplier: str, errors: list[tuple[str, str]]
) -> tuple[CentralProduct, CentralProducer] | CatalogProblem:
    blamed = {column for column, _ in errors}
    product: CentralProduct | None = None
    producer: CentralProducer | None = None
    try:
        product = CentralProduct.model_validate(fields)
    except ValidationError as exc:
        for field, message in field_errors(exc):
            column = COLUMN_OF.get(field, field)
            if column not in blamed:
                errors.append((column, message))
                blamed.add(column)
    try:
        producer = CentralProducer(pot_id=str(fields["producer_id"]), name=supplier)
    except ValidationError as exc:
        if "supplier" not in blamed:
            errors.append(("supplier", field_errors(exc)[0][1]))
    if product is not None and producer is not None and not errors:
        return product, producer

    (column, message), rest = errors[0], errors[1:]
    if rest:
        message += "; also " + "; ".join(f"{c}: {m}" for c, m in rest)

    return spot.problem(column, message, str(fields["pot_id"]))


def _convert(column: str, value: Cell) -> object:
    if column == "tax":
        slug = _text(value).lower()
        if slug not in TAX_CLASSES:
            raise ValueError(
                f'unknown tax class "{slug}": leave it empty for standard VAT, '
                "or write reduced-rate or zero-rate"
            )
        return TAX_CLASSES[slug]

    number = _decimal(value)
    if column != STOCK:
        return number
    if number is None or number == 0:
        return False
    if number == -1 or number > 0:
        return True
    raise ValueError(f"must be -1 (unlimited), 0 or a positive stock: {number}")


def _text(value: Cell) -> str:
    """A cell as text; whole numbers without `.0`, as the spreadsheet shows them."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()

    return str(value).strip()


def _decimal(value: Cell) -> Decimal | None:
    """A numeric cell or text exactly, a decimal comma allowed.

    XLSX stores numbers as binary floats; the shortest text that reads back as
    the same float is what the spreadsheet shows, so that is what is taken.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = _text(value)
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f'not a number: "{_text(value)}"') from None
    if not number.is_finite():
        raise ValueError(f'not a number: "{_text(value)}"')

    return number
