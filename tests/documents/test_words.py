"""The three languages: every word and every template in each."""

from __future__ import annotations

import pytest

from pot_bridge import wording

LANGUAGES = ["de", "fr", "en"]
TEMPLATES = [
    "producer_email",
    "correction_email",
    "minimum_email",
    "distribution_email",
    "consolidated_email",
    "reminder_email",
]


def test_every_language_has_every_word() -> None:
    """No label is missing, empty or left in another language's file only."""
    keys = {lang: set(wording.words(lang)) for lang in LANGUAGES}

    assert keys["de"] == keys["fr"] == keys["en"]
    assert all(wording.words(lang)[key] for lang in LANGUAGES for key in keys["de"])


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_exists(name: str, lang: str) -> None:
    """Each e-mail has a template per language."""
    assert (wording.TEMPLATES / f"{name}.{lang}.txt.j2").is_file()


@pytest.mark.parametrize(
    ("reason", "lang", "expected"),
    [
        ("packs", "de", "auf ganze Gebinde gerundet"),
        ("short-delivery", "fr", "livraison incomplète du producteur"),
        ("below-minimum", "en", "below the producer's minimum"),
        ("lost-in-transit", "de", "lost-in-transit"),
    ],
)
def test_reasons_in_words(reason: str, lang: str, expected: str) -> None:
    """Reason codes read as words; an unknown code is shown as it is."""
    assert expected == wording.reason_text(reason, lang)
