"""Account codes: a member's credit account and the coop's fixed accounts."""

from __future__ import annotations

import pytest

from pot_bridge.ledger.accounts import check_code, member, member_id


def test_member_account_is_keyed_by_wordpress_user_id() -> None:
    assert ("member:8", 8) == (member(8), member_id(member(8)))


def test_coop_account_has_no_member() -> None:
    assert member_id("bank") is None


@pytest.mark.parametrize("code", ["bank", "sales", "fees", "corrections", "refunds"])
def test_coop_accounts_are_known(code: str) -> None:
    assert code == check_code(code)


@pytest.mark.parametrize(
    "code", ["member:0", "member:08", "member:", "member:٣", "Bank", "till"]
)
def test_other_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="unknown ledger account"):
        check_code(code)
