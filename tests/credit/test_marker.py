import pytest

from pot_bridge.credit.marker import key_in, mark


def test_a_marked_text_gives_its_key_back() -> None:
    text = mark("Einzahlung Bank 2026-12-01", "bank:CH4431999123000889012:A1")

    assert (
        text == "Einzahlung Bank 2026-12-01 [pot-bridge bank:CH4431999123000889012:A1]"
    )
    assert key_in(text) == "bank:CH4431999123000889012:A1"


def test_rows_of_others_carry_no_key() -> None:
    assert key_in("Bestellung #131 (Neubestellung)") is None
    assert key_in("see [pot-bridge x] in the middle, then more") is None


@pytest.mark.parametrize("key", ["", "two words", "a]b"])
def test_keys_that_could_not_be_read_back_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="marked key"):
        mark("text", key)
