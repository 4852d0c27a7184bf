from datetime import date
from decimal import Decimal

from pot_bridge.bank.camt import read_camt
from pot_bridge.bank.reference import make_qrr, member_of_qrr
from pot_bridge.sandbox.bank import Payment, camt054

IBAN = "CH4431999123000889012"


def test_the_sandbox_banks_notification_reads_back_credit_by_credit() -> None:
    payments = [
        Payment("Lea Brunner", Decimal("50.00"), make_qrr("21", 2), "SB-1"),
        Payment("Noah <Keller> & Co", Decimal("0.05"), make_qrr("21", 5), "SB-2"),
    ]

    statement = read_camt(camt054(IBAN, date(2026, 12, 4), payments), "sandbox")

    assert [] == list(statement.problems)
    assert IBAN == statement.iban
    got = [
        (c.bank_ref, c.amount, member_of_qrr(c.reference or "", "21"))
        for c in statement.credits
    ]
    assert [("SB-1", Decimal("50.00"), 2), ("SB-2", Decimal("0.05"), 5)] == got
