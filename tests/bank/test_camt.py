"""Reading camt.053 / camt.054 files: credits, what is set aside, and problems."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pot_bridge.bank.camt import CamtError, Statement, read_camt
from pot_bridge.bank.reference import (
    member_of_message,
    member_of_qrr,
    member_of_scor,
)

SAMPLES = Path(__file__).parent / "samples"
COOP_IBAN = "CH0300700110000123456"


def read_sample(name: str) -> Statement:
    return read_camt((SAMPLES / name).read_bytes(), name)


def statement(entries: str, *, account: str = COOP_IBAN) -> bytes:
    """A camt.053.001.04 file around the given ``<Ntry>`` elements."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>T</MsgId><CreDtTm>2026-12-04T06:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>T-1</Id>
      <Acct><Id><IBAN>{account}</IBAN></Id></Acct>
{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def credit_entry(ref: str, amount: str, details: str = "") -> str:
    """One booked CHF credit entry, with optional ``TxDtls``."""
    inner = f"<NtryDtls>{details}</NtryDtls>" if details else ""
    return f"""
      <Ntry>
        <Amt Ccy="CHF">{amount}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-12-03</Dt></BookgDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        {inner}
      </Ntry>"""


def test_statement_v04_credits() -> None:
    """A batch of two gives two credits; each carries its member's reference."""
    read = read_sample("camt053_v04_statement.xml")

    assert ("camt.053", "001.04", COOP_IBAN) == (read.kind, read.version, read.iban)
    assert [
        ("ZKB-T-0001-A", Decimal("50.00"), "QRR", "Beat Beispiel"),
        ("ZKB-T-0001-B", Decimal("30.00"), "SCOR", "Carla Probst"),
        ("ZKB-T-0002", Decimal("25.50"), None, "Anna Muster"),
        ("ZKB-E-0006#1", Decimal("0.05"), None, None),
    ] == [(c.bank_ref, c.amount, c.reference_kind, c.debtor) for c in read.credits]
    assert () == read.problems


def test_statement_v04_members() -> None:
    """QRR, SCOR and the plugin's message each lead to one member."""
    qrr, scor, message, interest = read_sample("camt053_v04_statement.xml").credits

    assert 7 == member_of_qrr(qrr.reference or "", "210")
    assert 17 == member_of_scor(scor.reference or "", "NORD")
    assert "RF85NORD17" == scor.reference
    assert "E2E-CARLA-0017" == scor.end_to_end_id
    assert qrr.end_to_end_id is None  # NOTPROVIDED
    assert "TopUp Anna Muster (42)" == message.message
    assert 42 == member_of_message(message.message)
    assert (date(2026, 12, 3), date(2026, 12, 4)) == (
        message.booking_date,
        message.value_date,
    )
    assert "Habenzins" == interest.info
    assert member_of_message(interest.message) is None


def test_statement_v04_set_aside() -> None:
    """The debit and the reversal are reported, the EUR credit is not booked."""
    read = read_sample("camt053_v04_statement.xml")

    assert [
        ("debit", "ZKB-E-0003", Decimal("120.00"), "DBIT"),
        ("reversal", "ZKB-E-0004", Decimal("15.00"), "DBIT"),
    ] == [(s.reason, s.bank_ref, s.amount, s.direction) for s in read.set_aside]
    assert ["ZKB-E-0003"] == [s.bank_ref for s in read.debits]
    assert ["ZKB-E-0004"] == [s.bank_ref for s in read.reversals]
    assert [("ZKB-T-0005", Decimal("40.00"), "EUR")] == [
        (c.bank_ref, c.amount, c.currency) for c in read.foreign
    ]
    assert 58 == member_of_message(read.foreign[0].message)


def test_statement_v08() -> None:
    """001.08: status as a code, debtor under Pty, message over two lines."""
    read = read_sample("camt053_v08_statement.xml")

    assert ("camt.053", "001.08", COOP_IBAN) == (read.kind, read.version, read.iban)
    assert [("ZKB-T-0101", "Anna Muster", "Top-Up Anna Muster (42)")] == [
        (c.bank_ref, c.debtor, c.message) for c in read.credits
    ]
    assert 42 == member_of_message(read.credits[0].message)
    assert [("not booked (PDNG)", "ZKB-E-0102")] == [
        (s.reason, s.bank_ref) for s in read.set_aside
    ]


def test_notification_v08_batch() -> None:
    """A camt.054 QR batch whose details have no references of their own."""
    read = read_sample("camt054_v08_qr_batch.xml")

    assert ("camt.054", "001.08") == (read.kind, read.version)
    assert "CH1330999000123456789" == read.iban
    assert [
        ("PF-20261204-Q-001#1", Decimal("100.00"), "QRR", 42),
        ("PF-20261204-Q-001#2", Decimal("50.00"), "QRR", 1003),
        ("PF-20261204-Q-001#3", Decimal("25.00"), None, None),
    ] == [
        (
            c.bank_ref,
            c.amount,
            c.reference_kind,
            member_of_qrr(c.reference or "", "210"),
        )
        for c in read.credits
    ]
    assert "210000000000000000000000580" == read.credits[2].reference
    assert {date(2026, 12, 4)} == {c.booking_date for c in read.credits}
    assert () == read.problems


@pytest.mark.parametrize(
    "name",
    [
        "camt053_v04_statement.xml",
        "camt053_v08_statement.xml",
        "camt054_v08_qr_batch.xml",
        "camt053_malformed_amount.xml",
    ],
)
def test_same_file_same_bank_refs(name: str) -> None:
    """Reading a file twice gives the same keys, so nothing is booked twice."""
    first, second = read_sample(name), read_sample(name)
    refs = [c.bank_ref for c in first.credits + first.foreign]

    assert first == second
    assert len(set(refs)) == len(refs)


def test_amounts_are_decimals() -> None:
    """Every amount read is a Decimal, exactly as written."""
    read = read_sample("camt053_v04_statement.xml")
    amounts = [c.amount for c in read.credits + read.foreign]
    amounts += [s.amount for s in read.set_aside]

    assert all(type(amount) is Decimal for amount in amounts)
    assert Decimal("0.05") == read.credits[-1].amount


def test_malformed_amount_reported_by_position() -> None:
    """A decimal comma spoils one entry; the others are still read."""
    read = read_sample("camt053_malformed_amount.xml")

    assert [
        (
            "camt053_malformed_amount.xml, Stmt 1, Ntry 2 (line 20): "
            "amount '12,50' is not a number like 25.50"
        ),
        (
            "camt053_malformed_amount.xml, Stmt 1, Ntry 3, TxDtls 2 (line 39): "
            "batch detail without an amount"
        ),
    ] == [str(p) for p in read.problems]
    assert ["BAD-E-1#1", "BAD-T-3-1"] == [c.bank_ref for c in read.credits]


def test_non_camt_refused() -> None:
    """A payment order is XML, but not a bank report."""
    with pytest.raises(CamtError, match=r"not_camt_pain001\.xml is not a camt"):
        read_sample("not_camt_pain001.xml")


def test_dtd_and_entity_refused() -> None:
    """A file declaring entities is refused before any entity is expanded."""
    with pytest.raises(CamtError, match=r"camt053_with_entity\.xml: refusing .*DTD"):
        read_sample("camt053_with_entity.xml")


@pytest.mark.parametrize(
    "data",
    [
        (b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "camt.053.dtd"><Document/>'),
        (
            b'<?xml version="1.0"?>'
            b'<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<Document>&b;</Document>"
        ),
        b"<!DOCTYPE Document><Document/>",
    ],
    ids=["external-dtd", "nested-entities", "bare-doctype"],
)
def test_any_doctype_refused(data: bytes) -> None:
    """External, internal or empty: any DOCTYPE stops the reading."""
    with pytest.raises(CamtError, match="refusing"):
        read_camt(data, "evil.xml")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not XML"),
        (b"Datum;Betrag;Text\n2026-12-03;25.50;TopUp\n", "not XML"),
        (b"<Document><BkToCstmrStmt>", "not XML"),
        (b"<Document>&nbsp;</Document>", "not XML"),
        (b"<Document/>", "not a camt"),
        (b"<Other><BkToCstmrStmt/></Other>", "not a camt"),
        (
            (
                b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.04">'
                b"<BkToCstmrAcctRpt/></Document>"
            ),
            "not a camt.053 or camt.054",
        ),
        (b"<Document><BkToCstmrStmt/></Document>", "holds no <Stmt>"),
    ],
    ids=[
        "empty",
        "csv",
        "cut-off",
        "undefined-entity",
        "empty-document",
        "other-root",
        "camt052",
        "no-statement",
    ],
)
def test_unreadable_files_name_the_file(data: bytes, match: str) -> None:
    """Whatever is wrong, the error says which file."""
    with pytest.raises(CamtError, match=match) as caught:
        read_camt(data, "upload-7.xml")

    assert "upload-7.xml" in str(caught.value)


def test_repeated_detail_refs_fall_back_to_entry() -> None:
    """Details sharing one AcctSvcrRef get the entry's reference and index."""
    detail = """
          <TxDtls>
            <Refs><AcctSvcrRef>SAME</AcctSvcrRef></Refs>
            <Amt Ccy="CHF">5.00</Amt>
          </TxDtls>"""
    read = read_camt(statement(credit_entry("E-1", "10.00", detail * 2)), "t.xml")

    assert ["E-1#1", "E-1#2"] == [c.bank_ref for c in read.credits]


def test_repeated_bank_ref_reported() -> None:
    """Two entries with one bank reference: the second is reported, not read."""
    entries = credit_entry("E-1", "10.00") + credit_entry("E-1", "20.00")
    read = read_camt(statement(entries), "t.xml")

    assert [Decimal("10.00")] == [c.amount for c in read.credits]
    assert ["bank reference E-1#1 repeats; not read"] == [
        p.message for p in read.problems
    ]


def test_entry_without_any_bank_ref_reported() -> None:
    """Without an AcctSvcrRef there is no safe key: the admin books it."""
    entry = credit_entry("X", "10.00").replace("<AcctSvcrRef>X</AcctSvcrRef>", "")
    read = read_camt(statement(entry), "t.xml")

    assert () == read.credits
    assert ["no AcctSvcrRef on the entry or the detail"] == [
        p.message for p in read.problems
    ]


def test_batch_sum_mismatch_reported() -> None:
    """Details that do not add up to their entry are read and reported."""
    detail = """
          <TxDtls>
            <Refs><AcctSvcrRef>T-{n}</AcctSvcrRef></Refs>
            <Amt Ccy="CHF">5.00</Amt>
          </TxDtls>"""
    details = detail.format(n=1) + detail.format(n=2)
    read = read_camt(statement(credit_entry("E-1", "12.00", details)), "t.xml")

    assert ["T-1", "T-2"] == [c.bank_ref for c in read.credits]
    assert ["details add up to 10.00 CHF, the entry says 12.00"] == [
        p.message for p in read.problems
    ]


def test_debit_detail_in_credit_entry_reported() -> None:
    """A detail pointing the other way is not taken for a top-up."""
    details = """
          <TxDtls>
            <Refs><AcctSvcrRef>T-1</AcctSvcrRef></Refs>
            <Amt Ccy="CHF">5.00</Amt>
            <CdtDbtInd>DBIT</CdtDbtInd>
          </TxDtls>"""
    read = read_camt(statement(credit_entry("E-1", "5.00", details)), "t.xml")

    assert () == read.credits
    assert ["a debit detail inside a credit entry"] == [
        p.message for p in read.problems
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<CdtDbtInd>CRDT</CdtDbtInd>", "", "CdtDbtInd '' is neither CRDT nor DBIT"),
        ('Ccy="CHF"', 'Ccy="chf"', "amount 10.00 has no valid currency ('chf')"),
        ("10.00", "-10.00", "amount '-10.00' is not a number like 25.50"),
        ("<Dt>2026-12-03</Dt>", "<Dt>03.12.2026</Dt>", "<BookgDt> is not a date"),
        ("<BookgDt><Dt>2026-12-03</Dt></BookgDt>", "", "credit without booking date"),
    ],
    ids=["no-direction", "currency", "negative", "swiss-date", "no-booking-date"],
)
def test_malformed_entry_fields(old: str, new: str, message: str) -> None:
    """Each broken field is named; a good entry after it is still read."""
    broken = credit_entry("E-1", "10.00").replace(old, new)
    read = read_camt(statement(broken + credit_entry("E-2", "7.00")), "t.xml")

    assert ["E-2#1"] == [c.bank_ref for c in read.credits]
    assert 1 == len(read.problems)
    assert read.problems[0].message.startswith(message)
    assert read.problems[0].position.startswith("Stmt 1, Ntry 1 (line ")


def test_second_account_reported() -> None:
    """Entries of another account in the same file are not read as top-ups."""
    data = statement(credit_entry("E-1", "10.00"))
    other = b"<Stmt><Acct><Id><IBAN>CH8200235000098765432</IBAN></Id></Acct>"
    other += credit_entry("E-9", "99.00").encode() + b"</Stmt>"
    data = data.replace(b"</BkToCstmrStmt>", other + b"</BkToCstmrStmt>")
    read = read_camt(data, "t.xml")

    assert COOP_IBAN == read.iban
    assert ["E-1#1"] == [c.bank_ref for c in read.credits]
    assert [
        (
            "account CH8200235000098765432 is not the file's first account "
            f"{COOP_IBAN}; its 1 entries are not read"
        )
    ] == [p.message for p in read.problems]


def test_namespace_agnostic() -> None:
    """Prefixed, default or no namespace: the same credits; the version if named."""
    plain = statement(credit_entry("E-1", "10.00"))
    prefixed = plain.replace(b"<Document xmlns=", b"<c:Document xmlns:c=")
    prefixed = prefixed.replace(b"</Document>", b"</c:Document>")
    bare = plain.replace(
        b' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"', b""
    )

    reads = [read_camt(data, "t.xml") for data in (plain, prefixed, bare)]

    assert 1 == len({read.credits for read in reads})
    assert ["001.04", "001.04", None] == [read.version for read in reads]


def test_encodings() -> None:
    """A UTF-8 byte order mark or a Latin-1 declaration reads the same names."""
    details = """
          <TxDtls>
            <Refs><AcctSvcrRef>T-1</AcctSvcrRef></Refs>
            <RltdPties><Dbtr><Nm>Jürg Müller</Nm></Dbtr></RltdPties>
          </TxDtls>"""
    utf8 = statement(credit_entry("E-1", "10.00", details))
    latin1 = utf8.decode().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')

    reads = [
        read_camt(b"\xef\xbb\xbf" + utf8, "bom.xml"),
        read_camt(latin1.encode("latin-1"), "latin1.xml"),
    ]

    assert [["Jürg Müller"]] * 2 == [[c.debtor for c in r.credits] for r in reads]


def test_detail_amount_in_amount_details() -> None:
    """Older files put a detail's amount under AmtDtls/TxAmt only."""
    detail = """
          <TxDtls>
            <Refs><AcctSvcrRef>T-{n}</AcctSvcrRef></Refs>
            <AmtDtls><TxAmt><Amt Ccy="CHF">{amount}</Amt></TxAmt></AmtDtls>
          </TxDtls>"""
    details = detail.format(n=1, amount="7.25") + detail.format(n=2, amount="2.75")
    read = read_camt(statement(credit_entry("E-1", "10.00", details)), "t.xml")

    assert [Decimal("7.25"), Decimal("2.75")] == [c.amount for c in read.credits]
    assert () == read.problems


def test_credit_reversal_set_aside() -> None:
    """A reversed debit comes back as a credit, but it is no top-up."""
    entry = credit_entry("E-1", "120.00").replace(
        "<Sts>", "<RvslInd>true</RvslInd><Sts>"
    )
    read = read_camt(statement(entry), "t.xml")

    assert () == read.credits
    assert [("reversal", "CRDT")] == [(s.reason, s.direction) for s in read.set_aside]
