"""The sandbox's bank: a camt.054 notification of QR-bill top-ups, as a Swiss
bank sends one in the morning, for the demo and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


@dataclass(frozen=True)
class Payment:
    """One credit: who paid, how much, and the QR reference they typed."""

    debtor: str
    amount: Decimal
    reference: str
    bank_ref: str


def camt054(iban: str, day: date, payments: Sequence[Payment]) -> bytes:
    """One booked batch entry holding every payment as a transaction detail."""
    total = sum((p.amount for p in payments), Decimal(0))
    details = "".join(_detail(p) for p in payments)
    stamp = f"{day.isoformat()}T06:00:00+01:00"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NAMESPACE}">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>SANDBOX-{day:%Y%m%d}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>SANDBOX-{day:%Y%m%d}-1</Id>
      <CreDtTm>{stamp}</CreDtTm>
      <Acct><Id><IBAN>{escape(iban)}</IBAN></Id><Ccy>CHF</Ccy></Acct>
      <Ntry>
        <Amt Ccy="CHF">{total:.2f}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>
        <ValDt><Dt>{day.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>SANDBOX-{day:%Y%m%d}-Q</AcctSvcrRef>
        <NtryDtls>
          <Btch><NbOfTxs>{len(payments)}</NbOfTxs></Btch>{details}
        </NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"""
    return text.encode("utf-8")


def _detail(payment: Payment) -> str:
    return f"""
          <TxDtls>
            <Refs><AcctSvcrRef>{escape(payment.bank_ref)}</AcctSvcrRef></Refs>
            <Amt Ccy="CHF">{payment.amount:.2f}</Amt>
            <CdtDbtInd>CRDT</CdtDbtInd>
            <RltdPties><Dbtr><Pty><Nm>{escape(payment.debtor)}</Nm></Pty></Dbtr>
            </RltdPties>
            <RmtInf><Strd><CdtrRefInf>
              <Tp><CdOrPrtry><Prtry>QRR</Prtry></CdOrPrtry></Tp>
              <Ref>{escape(payment.reference)}</Ref>
            </CdtrRefInf></Strd></RmtInf>
          </TxDtls>"""
