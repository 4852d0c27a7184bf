"""The configuration: every mistake named by file, coop and field; secrets apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from pot_bridge.config import load
from pot_bridge.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"
SECRETS = {
    "POT_BRIDGE_NORD_CONSUMER_KEY": "ck_example_key",
    "POT_BRIDGE_NORD_CONSUMER_SECRET": "cs_example_secret",
    "POT_BRIDGE_NORD_WP_APP_PASSWORD": "abcd efgh ijkl",
    "POT_BRIDGE_SMTP_PASSWORD": "smtp-secret",
}

MINIMAL = """
[[coop]]
slug = "nord"
name = "Foodcoop Nord"
shop_url = "https://shop.example.org"
wp_user = "bridge"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pot-bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_documents_two_producers() -> None:
    settings = load(EXAMPLE, SECRETS)

    coop = settings.coop("nord")
    assert ["Hof Sonnenberg", "Fromagerie du Jura"] == [p.name for p in coop.producers]
    assert "fr" == coop.producer("Fromagerie du Jura").language  # type: ignore[union-attr]
    assert "cs_example_secret" == coop.consumer_secret.get_secret_value()  # type: ignore[union-attr]


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + 'consumer_secret = "cs_oops"\n')

    with pytest.raises(ConfigError) as caught:
        load(path, SECRETS)

    message = str(caught.value)
    assert str(path) in message
    assert "coop 'nord'" in message
    assert "consumer_secret" in message
    assert "cs_oops" not in message


def test_a_wrong_field_names_file_coop_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path, MINIMAL.replace('"https://shop.example.org"', '"shop.example.org"')
    )

    with pytest.raises(ConfigError) as caught:
        load(path, SECRETS)

    message = str(caught.value)
    assert str(path) in message
    assert "coop 'nord'" in message
    assert "'shop_url'" in message


def test_unknown_time_zone_and_key_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + 'timezone = "Europe/Zürich"\npoll_minute = 3\n')

    with pytest.raises(ConfigError) as caught:
        load(path, SECRETS)

    assert "field 'timezone'" in str(caught.value)
    assert "field 'poll_minute'" in str(caught.value)


def test_missing_secret_names_the_variable_and_credential(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    environ = {k: v for k, v in SECRETS.items() if "SECRET" not in k}

    with pytest.raises(ConfigError) as caught:
        load(path, environ)

    assert "POT_BRIDGE_NORD_CONSUMER_SECRET" in str(caught.value)
    assert "nord.consumer_secret" in str(caught.value)


def test_secrets_come_from_systemd_credentials(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for field in ("consumer_key", "consumer_secret", "wp_app_password"):
        (credentials / f"nord.{field}").write_text(f"from-file-{field}\n")
    (credentials / "smtp.password").write_text("smtp-secret\n")
    path = write(tmp_path, MINIMAL)

    settings = load(path, {"CREDENTIALS_DIRECTORY": str(credentials)})

    coop = settings.coop("nord")
    assert "from-file-consumer_secret" == coop.consumer_secret.get_secret_value()  # type: ignore[union-attr]
    assert "smtp-secret" == settings.smtp.password.get_secret_value()  # type: ignore[union-attr]


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[[coop]\nslug = nord")

    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load(path, SECRETS)

    assert str(path) in str(caught.value)


def test_schedule_rounds_need_a_schedule(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + 'rounds = "schedule"\n')

    with pytest.raises(ConfigError, match="schedule"):
        load(path, SECRETS)


def test_environment_overrides_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POT_BRIDGE_DATABASE_URL", "postgresql://db.invalid/x")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    settings = load(write(tmp_path, MINIMAL))

    assert "postgresql://db.invalid/x" == settings.db_url


def test_plain_http_is_refused_off_this_machine(tmp_path: Path) -> None:
    """The application password would cross the network in clear."""
    path = write(
        tmp_path, MINIMAL.replace("https://shop.example.org", "http://shop.example.org")
    )

    with pytest.raises(ConfigError, match="must use https"):
        load(path, SECRETS)


def test_smtp_username_without_password_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nusername = "bridge"\n' + MINIMAL)
    environ = {k: v for k, v in SECRETS.items() if "SMTP" not in k}

    with pytest.raises(ConfigError, match="POT_BRIDGE_SMTP_PASSWORD"):
        load(path, environ)


def test_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POT_BRIDGE_LOG_FORMAT", "json")
    path = write(tmp_path, 'log_format = "console"\n' + MINIMAL)

    settings = load(path, SECRETS)

    assert "json" == settings.log_format


def test_single_bracket_coop_table_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("[[coop]]", "[coop]"))

    with pytest.raises(ConfigError, match=r"\[\[coop\]\]"):
        load(path, SECRETS)


def test_example_credit_section_reads_as_a_qr_iban_with_qr_references() -> None:
    credit = load(EXAMPLE, SECRETS).coop("nord").credit

    assert "CH4431999123000889012" == credit.iban
    assert credit.uses_qrr
    assert "1020" == credit.accounts.bank


@pytest.mark.parametrize(
    ("credit", "words"),
    [
        ('iban = "CH4431999123000889013"', "check digits"),
        ('iban = "CH4431999123000889012"\nreference_prefix = "NORD"', "digits"),
        ('iban = "CH9300762011623852957"\nreference_prefix = "21"', "letters"),
        ('mode = "wallet"', "mode"),
        ("low_balance = 20.00", "low_balance needs iban"),
        ('iban = "CH9300762011623852957"\nlow_balance = 20.005', "Rappen"),
        ("payment_methods = []", "payment_methods"),
        ('[coop.credit.accounts]\nsales = "2030"', "share a number"),
        ('reference_prefix = "N-1"', "up to 16 digits"),
    ],
)
def test_a_wrong_credit_setting_is_named(
    tmp_path: Path, credit: str, words: str
) -> None:
    path = write(tmp_path, MINIMAL + "[coop.credit]\n" + credit + "\n")

    with pytest.raises(ConfigError) as caught:
        load(path, SECRETS)

    assert "credit" in str(caught.value)
    assert words in str(caught.value)


def test_a_liechtenstein_iban_and_a_lower_case_prefix_are_taken(
    tmp_path: Path,
) -> None:
    credit = 'iban = "LI21 0881 0000 2324 013A A"\nreference_prefix = "nord"\n'
    path = write(tmp_path, MINIMAL + "[coop.credit]\n" + credit)

    taken = load(path, SECRETS).coop("nord").credit

    assert ("LI21088100002324013AA", "NORD") == (taken.iban, taken.reference_prefix)
