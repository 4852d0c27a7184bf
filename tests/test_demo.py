"""The README's first command: one run on the sandbox, every kind of mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from pot_bridge.demo import run_demo


def test_the_demo_mails_producers_the_coop_and_a_member_low_on_credit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == run_demo(tmp_path / "demo")

    out = capsys.readouterr().out
    subjects = [line for line in out.splitlines() if line.startswith("Subject: ")]
    orders = ("Subject: Bestellung ", "Subject: Commande ", "Subject: Order ")
    assert 5 == sum(s.startswith(orders) for s in subjects)
    assert any(s.startswith("Subject: Verteilliste") for s in subjects)
    assert any(s.startswith("Subject: Abgleich Guthaben") for s in subjects)
    assert "Subject: Ihr Guthaben bei Foodcoop Sandbox: 20.95 CHF" in subjects
    # this morning's bank file: Lea and Nina topped up, in ledger and wallet
    assert "member   2    124.15 CHF   wallet 124.15" in out
    assert "member   9     53.35 CHF   wallet 53.35" in out
    assert (
        (tmp_path / "demo" / "qr-bill-sandbox-2.pdf").read_bytes().startswith(b"%PDF")
    )
    assert [] == list((tmp_path / "demo" / "bank").glob("*.xml"))
