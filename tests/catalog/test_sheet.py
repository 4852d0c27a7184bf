"""The POT plugin's product sheet, as XLSX written by openpyxl and as CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pot_bridge.catalog.errors import SheetError
from pot_bridge.catalog.model import CentralProducer, CentralProduct
from pot_bridge.catalog.sheet import COLUMNS, producer_slug, read_sheet

HEADER = list(COLUMNS)
# A row as the plugin's export writes it; tests change single columns.
ROW = {
    "name": "Bergkäse mild",
    "price": "24.80",
    "unit": "kg",
    "lot": "2.5",
    "producer": "Käserei Sonnenberg",
    "origin": "CH",
    "category": "Käse",
    "id": "311",
    "short_description": "6 Monate",
    "image": "https://img.example/k.jpg",
    "description": "<p>Rohmilch</p>",
    "sku": "SON-KAE-1",
    "supplier": "Hof Sonnenberg",
    "tax": "reduced-rate",
    "pot_id": "10452",
    "weight": "2.5",
}


def row(**changes: object) -> list[object]:
    values = {**ROW, **changes}
    return [values[column] for column in [*HEADER, "stock"] if column in values]


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for cells in rows:
        sheet.append(cells)
    book.save(path)
    return path


def write_csv(
    path: Path, rows: list[list[object]], delimiter: str = ";", bom: bool = True
) -> Path:
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_text(("\ufeff" if bom else "") + text.getvalue(), encoding="utf-8")
    return path


def test_an_xlsx_sheet_of_16_columns(tmp_path: Path) -> None:
    """Numbers are real number cells here, as a spreadsheet program saves them."""
    path = write_xlsx(
        tmp_path / "sortiment.xlsx",
        [
            HEADER,
            row(price=24.8, lot=2.5, id=311, pot_id=10452, weight=2.5),
            row(
                name="Dinkelmehl",
                price=3.95,
                lot=1,
                producer="Mühle Eschenz",
                category="Mehl",
                id=None,
                short_description=None,
                image=None,
                description=None,
                sku=7610000123456,
                supplier="Mühle Eschenz",
                tax="zero-rate",
                pot_id="20001",
            ),
            row(name="Seife", price=7, lot=6, tax=None, sku=None, pot_id=30001),
        ],
    )

    read = read_sheet(path)

    assert () == read.problems
    assert {
        "hof-sonnenberg": CentralProducer(
            pot_id="hof-sonnenberg", name="Hof Sonnenberg"
        ),
        "muehle-eschenz": CentralProducer(
            pot_id="muehle-eschenz", name="Mühle Eschenz"
        ),
    } == read.catalog.producers
    assert (
        CentralProduct(
            pot_id="10452",
            producer_id="hof-sonnenberg",
            name="Bergkäse mild",
            unit="kg",
            pack_size=Decimal("2.5"),
            price=Decimal("24.80"),
            vat="reduced",
            category="Käse",
            origin="CH",
            short_description="6 Monate",
            description="<p>Rohmilch</p>",
            image_url="https://img.example/k.jpg",
            available=True,
            sku="SON-KAE-1",
            grower="Käserei Sonnenberg",
        )
        == read.catalog.products["10452"]
    )
    flour, soap = read.catalog.products["20001"], read.catalog.products["30001"]
    assert (
        "muehle-eschenz",
        Decimal("3.95"),
        Decimal(1),
        "zero",
        "7610000123456",
    ) == (
        flour.producer_id,
        flour.price,
        flour.pack_size,
        flour.vat,
        flour.sku,
    )
    assert (Decimal("7.00"), "standard", None) == (soap.price, soap.vat, soap.sku)
    assert read.etag.startswith("sha256:")
    assert str(path.absolute()) == read.source


def test_stock_as_a_17th_column_says_what_is_available(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "sortiment.xlsx",
        [
            [*HEADER, "stock"],
            row(pot_id=1, sku="A", stock=0),
            row(pot_id=2, sku="B", stock=None),
            row(pot_id=3, sku="C", stock=-1),
            row(pot_id=4, sku="D", stock=12),
            row(pot_id=5, sku="E", stock=-3),
        ],
    )

    read = read_sheet(path)

    assert {"1": False, "2": False, "3": True, "4": True} == {
        pot_id: product.available for pot_id, product in read.catalog.products.items()
    }
    assert [
        (
            "line 6, column stock: must be -1 (unlimited), 0 or a positive stock: -3 "
            "(POT ID 5)"
        )
    ] == [str(problem) for problem in read.problems]


def test_a_csv_export_with_bom_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffname;price;unit;lot;producer;origin;category;id;short_description;"
        "image;description;sku;supplier;tax;pot_id;weight\r\n"
        "Bergkäse mild;24,80;kg;2,5;Käserei Sonnenberg;CH;Käse;311;;;"
        '"Rohmilch; 6 Monate";SON-KAE-1;Hof Sonnenberg;reduced-rate;10452;2,5\r\n'
        "Alpbutter;5,6;250 g;10;Käserei Sonnenberg;CH;Milch;;;;;;Hof Sonnenberg;;"
        "10453;\r\n".encode()
    )

    read = read_sheet(path)

    assert () == read.problems
    cheese, butter = read.catalog.products["10452"], read.catalog.products["10453"]
    assert (Decimal("24.80"), Decimal("2.5"), "Rohmilch; 6 Monate") == (
        cheese.price,
        cheese.pack_size,
        cheese.description,
    )
    assert (Decimal("5.60"), Decimal(10), "standard") == (
        butter.price,
        butter.pack_size,
        butter.vat,
    )


def test_a_comma_separated_csv_without_bom_counts_lines_as_rows(
    tmp_path: Path,
) -> None:
    """A text over three lines in one cell is still one spreadsheet row."""
    path = write_csv(
        tmp_path / "sortiment.csv",
        [
            HEADER,
            row(description="Rohmilch,\n6 Monate,\ngereift"),
            row(pot_id="10453", sku="SON-2", price="abc"),
        ],
        delimiter=",",
        bom=False,
    )

    read = read_sheet(path)

    assert "Rohmilch,\n6 Monate,\ngereift" == read.catalog.products["10452"].description
    assert ['line 3, column price: not a number: "abc" (POT ID 10453)'] == [
        str(problem) for problem in read.problems
    ]


def test_malformed_rows_are_reported_by_line_and_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "sortiment.csv",
        [
            HEADER,
            row(pot_id="101", sku="S-101"),
            row(pot_id="102", sku="S-102", name="Alpbutter"),
            row(pot_id="103", sku="S-103", price="abc"),
            row(pot_id="", sku="S-104"),
            row(pot_id="105", sku="S-105", tax="super-rate"),
            row(pot_id="106", sku="S-106", lot="0"),
            [""] * len(HEADER),
            row(pot_id="101", sku="S-108"),
            row(pot_id="109", sku="S-109", supplier="Hof  sonnenberg"),
            row(pot_id="110", sku="S-110", origin="", price="4.805"),
            row(pot_id="A-17", sku="S-111"),
            [*row(pot_id="112", sku="S-112"), "Rohmilch"],
            row(pot_id="113", sku="S-113", image="www.img.example/k.jpg"),
            row(pot_id="114", sku="S-101"),
        ],
    )

    read = read_sheet(path)

    assert [
        'line 4, column price: not a number: "abc" (POT ID 103)',
        (
            "line 5, column pot_id: missing: pot-bridge knows central products by "
            "POT ID only"
        ),
        (
            'line 6, column tax: unknown tax class "super-rate": leave it empty for '
            "standard VAT, or write reduced-rate or zero-rate (POT ID 105)"
        ),
        "line 7, column lot: input should be greater than 0: 0 (POT ID 106)",
        (
            "line 9, column pot_id: POT ID used before at line 2; the first is kept "
            "(POT ID 101)"
        ),
        (
            'line 10, column supplier: "Hof  sonnenberg" and "Hof Sonnenberg" '
            "(line 2) give one producer ID 'hof-sonnenberg'; spell the supplier alike "
            "in every row (POT ID 109)"
        ),
        (
            "line 11, column origin: missing; also price: has more than two decimals "
            "(a fraction of a Rappen): 4.805 (POT ID 110)"
        ),
        'line 12, column pot_id: must be a number: "A-17" (POT ID A-17)',
        (
            "line 13: has values past the last column (Rohmilch); is a separator "
            "inside an unquoted text?"
        ),
        (
            'line 14, column image: must be an http(s) URL: "www.img.example/k.jpg" '
            "(POT ID 113)"
        ),
        'line 15, column sku: SKU "S-101" used before at line 2 (POT ID 114)',
    ] == [str(problem) for problem in read.problems]
    assert ["101", "102"] == sorted(read.catalog.products)
    assert (4, "price") == (read.problems[0].line, read.problems[0].column)


def test_a_wrong_header_names_expected_and_found_columns(tmp_path: Path) -> None:
    header = [*HEADER]
    header[3] = "pack"
    path = write_csv(tmp_path / "sortiment.csv", [header, row()])

    with pytest.raises(SheetError) as caught:
        read_sheet(path)

    assert (
        f"product sheet {path}: the header must be the POT plugin's columns in this "
        "order: name, price, unit, lot, producer, origin, category, id, "
        "short_description, image, description, sku, supplier, tax, pot_id, weight "
        "(and stock as a 17th, optional); found: name, price, unit, pack, producer, "
        "origin, category, id, short_description, image, description, sku, "
        "supplier, tax, pot_id, weight; column 4 is 'pack' where 'lot' was expected"
    ) == str(caught.value)


@pytest.mark.parametrize(
    ("header", "wrong"),
    [
        pytest.param(HEADER[:15], "column 16 is nothing where 'weight'", id="short"),
        pytest.param(
            [*HEADER, "stock", "note"], "column 18 is 'note' where 'nothing'", id="long"
        ),
        pytest.param(
            ["Name", *HEADER[1:]], "column 1 is 'Name' where 'name'", id="case"
        ),
    ],
)
def test_a_header_must_match_exactly(
    tmp_path: Path, header: list[str], wrong: str
) -> None:
    path = write_xlsx(tmp_path / "sortiment.xlsx", [header])

    with pytest.raises(SheetError) as caught:
        read_sheet(path)

    assert wrong in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("empty.csv", b"", "is empty", id="empty"),
        pytest.param("old.ods", b"PK", ".ods is not read", id="ods"),
        pytest.param(
            "latin.csv",
            "name;preis\n".encode("cp1252") + b"\xe4",
            "not UTF-8",
            id="cp1252",
        ),
        pytest.param("broken.xlsx", b"not a zip", "not a readable XLSX", id="xlsx"),
    ],
)
def test_an_unreadable_sheet_is_refused(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(SheetError) as caught:
        read_sheet(path)

    assert message in str(caught.value)


def test_a_missing_sheet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SheetError) as caught:
        read_sheet(tmp_path / "nowhere.xlsx")

    assert "nowhere.xlsx: No such file or directory" in str(caught.value)


@pytest.mark.parametrize(
    ("supplier", "slug"),
    [
        ("Hof Müller AG", "hof-mueller-ag"),
        ("Käserei Zürich", "kaeserei-zuerich"),
        ("Ferme de l'Étang", "ferme-de-l-etang"),
        ("  Gut   Rheinau ", "gut-rheinau"),
        ("Straße 7", "strasse-7"),
        ("???", "supplier-a03b221c6c6e"),
    ],
)
def test_a_supplier_gets_a_stable_slug(supplier: str, slug: str) -> None:
    assert slug == producer_slug(supplier)
