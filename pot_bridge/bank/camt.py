"""Swiss bank files (ISO 20022 camt.053 statements, camt.054 notifications).

`read_camt` turns one file into a `Statement`: the CHF credits that may be
member top-ups, and, kept apart, what is not a top-up. It reads any version
(001.04 and 001.08 are what Swiss banks send) by local element names, so the
namespace only tells the version.

One credit per transaction detail: a batch entry with N ``TxDtls`` gives N
credits, an entry without ``TxDtls`` gives one for its whole amount.

The bank reference (`Credit.bank_ref`) is the key that keeps a credit from
being booked twice when a file is read again:

- the ``TxDtls/Refs/AcctSvcrRef`` of the detail, when it has one that no other
  detail of the same entry repeats;
- otherwise the entry's ``AcctSvcrRef``, ``#`` and the 1-based position of the
  detail in the entry (``#1`` for an entry without details).

Account servicer references are unique per bank, not worldwide: key bookings on
the IBAN and the bank reference together. An entry with neither reference is
reported, not read. The cost: the same payment read once from a camt.054 with
details and once from a camt.053 that sums them up gets different keys; read
top-ups from one kind of file per account.

Debits, reversals (``RvslInd``, whatever their direction) and entries not
booked are set aside; credits in another currency are read but not booked.
A malformed entry becomes a `Problem` with its position and line, and the rest
of the file is read. A document type declaration (DTD) or entity is refused
outright: bank files never need one, and entities are how XML bombs work.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NoReturn
from xml.etree import ElementTree as ET
from xml.parsers import expat

from pot_bridge.bank.reference import is_qrr, is_scor
from pot_bridge.errors import SkipItemError

BOOKED = "BOOK"
HOME_CURRENCY = "CHF"

_REPORTS = {
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
}
_VERSION = re.compile(r"camt\.05[2-4]\.(\d{3}\.\d{2})")
_AMOUNT = re.compile(r"[0-9]{1,18}(\.[0-9]{1,5})?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)


class CamtError(SkipItemError):
    """The file cannot be read at all: report it and go on with the next one."""


class _Malformed(ValueError):
    """One entry or detail cannot be read; the message says why."""


@dataclass(frozen=True)
class Problem:
    """Something in the file that was not read, and where it is."""

    source: str
    position: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}, {self.position}: {self.message}"


@dataclass(frozen=True)
class Credit:
    """One incoming payment: a transaction detail, or an entry without details."""

    bank_ref: str
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None
    reference: str | None  # structured creditor reference, spaces removed
    reference_kind: str | None  # "QRR" or "SCOR" when its check digits hold
    message: str | None  # unstructured remittance lines, joined by a space
    debtor: str | None
    end_to_end_id: str | None
    info: str | None  # the bank's own text (AddtlTxInf / AddtlNtryInf)
    position: str


@dataclass(frozen=True)
class SetAside:
    """An entry that is not a top-up (debit, reversal, not booked), for the report."""

    reason: str
    bank_ref: str | None
    amount: Decimal
    currency: str
    direction: str  # "CRDT" or "DBIT"
    booking_date: date | None
    info: str | None
    position: str


@dataclass(frozen=True)
class Statement:
    """What one camt file says about one account."""

    source: str
    kind: str  # "camt.053" or "camt.054"
    version: str | None  # "001.04", from the namespace when it names one
    iban: str | None
    credits: tuple[Credit, ...]  # in CHF: candidates for top-ups
    foreign: tuple[Credit, ...]  # in other currencies: reported, not booked
    set_aside: tuple[SetAside, ...]
    problems: tuple[Problem, ...]

    @property
    def debits(self) -> tuple[SetAside, ...]:
        return tuple(s for s in self.set_aside if s.reason == "debit")

    @property
    def reversals(self) -> tuple[SetAside, ...]:
        return tuple(s for s in self.set_aside if s.reason == "reversal")


@dataclass
class _Reading:
    source: str
    lines: dict[ET.Element, int]
    credits: list[Credit] = field(default_factory=list)
    foreign: list[Credit] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seen_refs: set[str] = field(default_factory=set)

    def where(self, label: str, elem: ET.Element) -> str:
        return f"{label} (line {self.lines.get(elem, 0)})"

    def problem(self, position: str, message: str) -> None:
        self.problems.append(Problem(self.source, position, message))


def read_camt(data: bytes, source: str) -> Statement:
    """Read one camt.053 or camt.054 file; `source` names it in every message."""
    root, namespace, lines = _parse_xml(data, source)

    body = root[0] if root.tag == "Document" and len(root) else None
    if body is None or body.tag not in _REPORTS:
        found = body.tag if body is not None else root.tag
        raise CamtError(
            f"{source} is not a camt.053 or camt.054 file (found <{found}>)"
        )
    kind, report_tag = _REPORTS[body.tag]
    version_match = _VERSION.search(namespace)
    reports = body.findall(report_tag)
    if not reports:
        raise CamtError(f"{source}: the {kind} file holds no <{report_tag}>")

    reading = _Reading(source, lines)
    iban = _account(reports[0])
    for number, report in enumerate(reports, 1):
        label = f"{report_tag} {number}"
        if _account(report) != iban:
            entries = len(report.findall("Ntry"))
            reading.problem(
                reading.where(label, report),
                f"account {_account(report)} is not the file's first account "
                f"{iban}; its {entries} entries are not read",
            )
            continue
        for index, entry in enumerate(report.findall("Ntry"), 1):
            _read_entry(entry, f"{label}, Ntry {index}", reading)

    return Statement(
        source=source,
        kind=kind,
        version=version_match.group(1) if version_match else None,
        iban=iban,
        credits=tuple(reading.credits),
        foreign=tuple(reading.foreign),
        set_aside=tuple(reading.set_aside),
        problems=tuple(reading.problems),
    )


def _parse_xml(
    data: bytes, source: str
) -> tuple[ET.Element, str, dict[ET.Element, int]]:
    """Build a tree of local names, remembering lines; refuse DTDs and entities."""
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}
    namespaces: list[str] = []
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(name: str, attrs: dict[str, str]) -> None:
        uri, _, local = name.rpartition(" ")
        if not namespaces:
            namespaces.append(uri)
        local_attrs = {key.rpartition(" ")[2]: value for key, value in attrs.items()}
        lines[builder.start(local, local_attrs)] = parser.CurrentLineNumber

    def end(name: str) -> None:
        builder.end(name.rpartition(" ")[2])

    def refuse(*_: object) -> NoReturn:
        raise CamtError(f"{source}: refusing an XML file with a DTD or entities")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code)
        raise CamtError(f"{source} is not XML: {reason} at line {exc.lineno}") from exc

    return builder.close(), namespaces[0], lines


def _read_entry(entry: ET.Element, label: str, reading: _Reading) -> None:
    """Sort one ``Ntry`` into credits, set-asides or problems."""
    position = reading.where(label, entry)
    try:
        amount, currency = _amount(entry.find("Amt"))
        direction = _direction(entry.find("CdtDbtInd"))
        booked = _date(entry.find("BookgDt"))
        valued = _date(entry.find("ValDt"))
    except _Malformed as exc:
        reading.problem(position, str(exc))
        return

    status = _text(entry, "Sts/Cd") or _text(entry, "Sts") or BOOKED
    reversal = _text(entry, "RvslInd") in {"true", "1"}
    reason = _set_aside_reason(status, reversal, direction)
    if reason is not None:
        info = _text(entry, "AddtlNtryInf")
        entry_ref = _text(entry, "AcctSvcrRef")
        reading.set_aside.append(
            SetAside(
                reason, entry_ref, amount, currency, direction, booked, info, position
            )
        )
        return

    if booked is None:
        reading.problem(position, "credit without booking date")
        return

    dates = (booked, valued)
    details = entry.findall("NtryDtls/TxDtls")
    if not details:
        _read_credit(entry, None, 1, dates, position, reading)
        return

    for index, detail in enumerate(details, 1):
        where = reading.where(f"{label}, TxDtls {index}", detail)
        _read_credit(entry, detail, index, dates, where, reading)
    _check_batch_sum(entry, details, amount, currency, position, reading)


def _set_aside_reason(status: str, reversal: bool, direction: str) -> str | None:
    """Why an entry is no top-up, or None for a booked credit."""
    if status != BOOKED:
        return f"not booked ({status})"
    if reversal:
        return "reversal"
    if direction == "DBIT":
        return "debit"

    return None


def _read_credit(
    entry: ET.Element,
    detail: ET.Element | None,
    index: int,
    dates: tuple[date, date | None],
    position: str,
    reading: _Reading,
) -> None:
    """One credit from a detail (or from the entry itself when it has none)."""
    try:
        amount, currency = _detail_amount(entry, detail)
        direction = detail.find("CdtDbtInd") if detail is not None else None
        if direction is not None and _direction(direction) != "CRDT":
            raise _Malformed("a debit detail inside a credit entry")
    except _Malformed as exc:
        reading.problem(position, str(exc))
        return

    bank_ref = _bank_ref(entry, detail, index)
    if bank_ref is None:
        reading.problem(position, "no AcctSvcrRef on the entry or the detail")
        return
    if bank_ref in reading.seen_refs:
        reading.problem(position, f"bank reference {bank_ref} repeats; not read")
        return
    reading.seen_refs.add(bank_ref)

    reference = _compact(_first_text(detail, "RmtInf/Strd/CdtrRefInf/Ref"))
    info = _text(detail, "AddtlTxInf") if detail is not None else None
    credit = Credit(
        bank_ref=bank_ref,
        amount=amount,
        currency=currency,
        booking_date=dates[0],
        value_date=dates[1],
        reference=reference,
        reference_kind=_reference_kind(reference),
        message=_joined(detail, "RmtInf/Ustrd"),
        debtor=_debtor(detail),
        end_to_end_id=_end_to_end(detail),
        info=info or _text(entry, "AddtlNtryInf"),
        position=position,
    )

    (reading.credits if currency == HOME_CURRENCY else reading.foreign).append(credit)


def _reference_kind(reference: str | None) -> str | None:
    """Judged by the check digits, not by the type the bank put beside it."""
    if reference and is_qrr(reference):
        return "QRR"
    if reference and is_scor(reference):
        return "SCOR"

    return None


def _bank_ref(entry: ET.Element, detail: ET.Element | None, index: int) -> str | None:
    """The detail's own AcctSvcrRef if unique in its entry, else entry ref + #index."""
    if detail is not None:
        own = _text(detail, "Refs/AcctSvcrRef")
        siblings = Counter(
            _text(other, "Refs/AcctSvcrRef") for other in entry.iter("TxDtls")
        )
        if own is not None and siblings[own] == 1:
            return own

    entry_ref = _text(entry, "AcctSvcrRef")

    return f"{entry_ref}#{index}" if entry_ref else None


def _check_batch_sum(
    entry: ET.Element,
    details: list[ET.Element],
    amount: Decimal,
    currency: str,
    position: str,
    reading: _Reading,
) -> None:
    """Report a batch whose details do not add up to the entry (charges, bad file)."""
    try:
        parts = [_detail_amount(entry, detail) for detail in details]
    except _Malformed:
        return  # already reported per detail

    total = sum((value for value, _ in parts), Decimal(0))
    if all(ccy == currency for _, ccy in parts) and total != amount:
        reading.problem(
            position, f"details add up to {total} {currency}, the entry says {amount}"
        )


def _detail_amount(entry: ET.Element, detail: ET.Element | None) -> tuple[Decimal, str]:
    """The detail's amount; the entry's own when it is the only detail."""
    if detail is not None:
        for path in ("Amt", "AmtDtls/TxAmt/Amt"):
            found = detail.find(path)
            if found is not None:
                return _amount(found)
    if len(entry.findall("NtryDtls/TxDtls")) > 1:
        raise _Malformed("batch detail without an amount")

    return _amount(entry.find("Amt"))


def _amount(elem: ET.Element | None) -> tuple[Decimal, str]:
    """An ISO amount: digits and a point, never negative, with its currency."""
    if elem is None:
        raise _Malformed("no amount")
    text = (elem.text or "").strip()
    currency = elem.get("Ccy", "").strip()
    if not _AMOUNT.fullmatch(text):
        raise _Malformed(f"amount {text!r} is not a number like 25.50")
    if not _CURRENCY.fullmatch(currency):
        raise _Malformed(f"amount {text} has no valid currency ({currency!r})")

    return Decimal(text), currency


def _direction(elem: ET.Element | None) -> str:
    text = (elem.text or "").strip() if elem is not None else ""
    if text not in {"CRDT", "DBIT"}:
        raise _Malformed(f"CdtDbtInd {text!r} is neither CRDT nor DBIT")

    return text


def _date(elem: ET.Element | None) -> date | None:
    """``Dt`` or ``DtTm`` (its date as written) of a date choice, if present."""
    if elem is None:
        return None
    day = _text(elem, "Dt")
    moment = _text(elem, "DtTm")
    try:
        if day is not None:
            return date.fromisoformat(day)
        if moment is not None:
            return datetime.fromisoformat(moment).date()
    except ValueError as exc:
        raise _Malformed(f"<{elem.tag}> is not a date: {day or moment!r}") from exc

    raise _Malformed(f"<{elem.tag}> holds neither Dt nor DtTm")


def _account(report: ET.Element) -> str | None:
    account = _text(report, "Acct/Id/IBAN") or _text(report, "Acct/Id/Othr/Id")

    return _compact(account)


def _debtor(detail: ET.Element | None) -> str | None:
    """Debtor name: ``Dbtr/Nm`` up to 001.07, ``Dbtr/Pty/Nm`` from 001.08."""
    if detail is None:
        return None

    return _text(detail, "RltdPties/Dbtr/Pty/Nm") or _text(detail, "RltdPties/Dbtr/Nm")


def _end_to_end(detail: ET.Element | None) -> str | None:
    value = _text(detail, "Refs/EndToEndId") if detail is not None else None

    return None if value == "NOTPROVIDED" else value


def _text(elem: ET.Element, path: str) -> str | None:
    found = elem.find(path)
    text = (found.text or "").strip() if found is not None else ""

    return text or None


def _first_text(elem: ET.Element | None, path: str) -> str | None:
    if elem is None:
        return None
    texts = (_text(found, ".") for found in elem.findall(path))

    return next((text for text in texts if text), None)


def _joined(elem: ET.Element | None, path: str) -> str | None:
    if elem is None:
        return None
    lines = [(found.text or "").strip() for found in elem.findall(path)]

    return " ".join(line for line in lines if line) or None


def _compact(text: str | None) -> str | None:
    return "".join(text.split()).upper() if text else None
