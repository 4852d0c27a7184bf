"""The configuration: one TOML file for what may be read by anyone, secrets apart.

Shop keys and passwords never live in the TOML file. They come from environment
variables or from systemd credentials (files in `$CREDENTIALS_DIRECTORY`), named
after the coop's slug, so the file can be shared with volunteers and kept in git.
The file is read once at start and passed to whatever needs it.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pot_bridge.bank.reference import is_iban, is_qr_iban
from pot_bridge.errors import ConfigError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SECRET_KEYS = {"consumer_key", "consumer_secret", "password", "wp_app_password"}
Language = Literal["de", "fr", "en"]
PackPolicy = Literal["as-ordered", "round-up", "round-down", "nearest"]
Weekday = Literal[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]


def plausible_email(value: str | None) -> str | None:
    """Refuse what cannot be an address, and anything that could add a header."""
    if value is None:
        return value
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or domain.endswith("."):
        raise ValueError("is not an e-mail address")
    if any(c.isspace() or ord(c) < 32 for c in value) or "," in value:
        raise ValueError("is not one e-mail address (no spaces, commas or breaks)")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    sender: str = "pot-bridge@localhost"
    timeout_seconds: float = Field(default=30.0, gt=0)
    password: SecretStr | None = Field(default=None, exclude=True)


class ScheduleConfig(Strict):
    """Rounds for shops without the POT plugin: one deadline a week."""

    weekday: Weekday
    time: time
    distribution_offset_days: int = Field(default=2, ge=0, le=14)


class ProducerConfig(Strict):
    """Whom a group order goes to. `name` is the plugin's `_lieferant` string."""

    name: str = Field(min_length=1)
    email: str | None = None
    language: Language = "de"
    skus: list[str] = []
    sku_prefixes: list[str] = []
    # None: the coop's pack_policy
    pack_policy: PackPolicy | None = None
    # pack size by SKU, where the product's _gebinde is missing or wrong
    pack_sizes: dict[str, Decimal] = {}
    # SKUs sold by weight (never rounded to packs), besides units like "kg"
    sold_by_weight: list[str] = []
    minimum_value: Decimal | None = Field(default=None, ge=0, le=1_000_000)
    minimum_quantity: Decimal | None = Field(default=None, ge=0, le=1_000_000)
    # printed on the producer's documents
    note: str = ""
    # the producer packs per member: documents list every member's share
    packs_per_member: bool = False
    # the same producer in several coops of the network (same identity)
    identity: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,60}$")
    # one e-mail per delivery day for all coops with this identity
    consolidate: bool = False

    @field_validator("pack_sizes")
    @classmethod
    def _positive_packs(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for sku, size in value.items():
            if not 0 < size <= 10_000 or size != size.quantize(Decimal("0.001")):
                raise ValueError(
                    f"pack size of {sku!r} must be above 0 and at most 10000, "
                    "with at most three decimals"
                )
        return value

    @model_validator(mode="after")
    def _identity_to_consolidate(self) -> ProducerConfig:
        if self.consolidate and not self.identity:
            raise ValueError(
                "consolidate = true needs an identity, the same in every coop "
                "this producer supplies"
            )
        return self

    @field_validator("email")
    @classmethod
    def _plausible_email(cls, value: str | None) -> str | None:
        return plausible_email(value)


CatalogField = Literal[
    "name",
    "price",
    "unit",
    "pack_size",
    "producer",
    "origin",
    "category",
    "short_description",
    "description",
    "image",
    "availability",
    "tax_class",
]
ALL_CATALOG_FIELDS: list[CatalogField] = list(get_args(CatalogField))


class CatalogSource(Strict):
    """Where the central POT catalog comes from (one of the two)."""

    # a JSON feed (https, or http on loopback); see README for its schema
    feed_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # or the plugin's product sheet, XLSX or CSV
    sheet: Path | None = None
    poll_minutes: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # the product's page in the POT database, for QR codes
    product_page: str = "https://db.pot.ch/?id={pot_id}"

    @field_validator("feed_url")
    @classmethod
    def _https_unless_loopback(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host = urlsplit(value).hostname or ""
        if value.startswith("http://") and host not in LOOPBACK:
            raise ValueError("must use https (http is for a feed on this machine only)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> CatalogSource:
        if (self.feed_url is None) == (self.sheet is None):
            raise ValueError("give exactly one of feed_url and sheet")
        return self


class CoopCatalog(Strict):
    """What one coop carries of the central catalog, and how."""

    # POT producer ids (or names) whose products the coop carries
    producers: list[str] = []
    # single products by POT ID, besides the producers'
    products: list[str] = []
    # POT IDs never carried
    exclude: list[str] = []
    # added to the central price, then rounded to 0.05 CHF
    margin_percent: Decimal = Field(default=Decimal(0), ge=-100, le=1000)
    # central category name -> the shop's category name
    category_map: dict[str, str] = {}
    # fields the bridge writes; a coop's own edit in the shop takes a field over
    fields: list[CatalogField] = ALL_CATALOG_FIELDS
    # a price change of a product in an open round: "apply" now or "hold" until
    # the round closes
    open_round_prices: Literal["apply", "hold"] = "hold"
    # WooCommerce tax classes for the central VAT classes
    tax_classes: dict[str, str] = {
        "standard": "",
        "reduced": "reduced-rate",
        "zero": "zero-rate",
    }
    batch_size: int = Field(default=50, ge=1, le=100)


class JournalAccounts(Strict):
    """The bookkeeper's account numbers for the journal export (a Swiss chart
    of accounts, KMU-Kontenrahmen, by default)."""

    bank: str = "1020"
    members: str = "2030"
    sales: str = "3200"
    refunds: str = "3290"
    fees: str = "3400"
    corrections: str = "3809"

    @model_validator(mode="after")
    def _distinct(self) -> JournalAccounts:
        numbers = list(self.model_dump().values())
        if any(not n.strip() for n in numbers):
            raise ValueError("an account number is empty")
        if len(set(numbers)) != len(numbers):
            raise ValueError(
                "two ledger accounts share a number: the journal would net them away"
            )
        return self


class CoopCredit(Strict):
    """Members' prepaid credit: where the book is, how top-ups arrive, reminders."""

    # "plugin": the POT plugin's wallet holds the credit and the ledger proves it;
    # "ledger": a shop without the plugin, the bridge's ledger is the book
    mode: Literal["plugin", "ledger"] = "plugin"
    # orders paid with these payment methods are paid from credit
    payment_methods: list[str] = Field(default=["foodcoop_guthaben"], min_length=1)
    # the WordPress user id the bridge books wallet rows as (`created_by`)
    bridge_user_id: int = Field(default=0, ge=0)
    # the coop's account members pay top-ups into: a QR-IBAN takes QR references
    # (QRR), a normal IBAN creditor references (SCOR, RF…)
    iban: str | None = None
    # what begins every reference: digits for QRR, letters for SCOR
    reference_prefix: str = ""
    # a folder the daemon reads camt.053/054 files from (read files move to done/)
    bank_folder: Path | None = None
    # a member below this balance gets a reminder with their QR-bill
    low_balance: Decimal | None = Field(default=None, ge=0, le=100_000)
    # at most one reminder per member in this many days
    reminder_days: int = Field(default=7, ge=1, le=365)
    # when the nightly reconciliation runs, local time
    reconcile_at: time = time(2, 30)
    # ledger mode: the customer meta key the balance is published under
    balance_meta_key: str = Field(default="pot_credit_balance", min_length=1)
    accounts: JournalAccounts = JournalAccounts()

    @field_validator("iban", mode="before")
    @classmethod
    def _compact_iban(cls, value: object) -> object:
        return value.replace(" ", "").upper() if isinstance(value, str) else value

    @field_validator("iban")
    @classmethod
    def _iban_check_digits(cls, value: str | None) -> str | None:
        if value is not None and not is_iban(value):
            raise ValueError(
                "is not a Swiss or Liechtenstein IBAN (CH or LI, 21 characters, "
                "check digits that hold)"
            )
        return value

    @field_validator("reference_prefix", mode="before")
    @classmethod
    def _prefix(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        prefix = value.replace(" ", "").upper()
        if not re.fullmatch(r"[0-9]{0,16}|[A-Z]{0,10}", prefix, re.ASCII):
            raise ValueError("must be up to 16 digits (QRR) or up to 10 letters (RF)")
        return prefix

    @field_validator("low_balance")
    @classmethod
    def _whole_rappen(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value != value.quantize(Decimal("0.01")):
            raise ValueError("must be a whole number of Rappen (e.g. 20.00)")
        return value

    @model_validator(mode="after")
    def _account_settings_fit(self) -> CoopCredit:
        if self.iban is None:
            if self.low_balance is not None:
                raise ValueError(
                    "low_balance needs iban: every reminder carries the member's "
                    "QR-bill"
                )
            return self
        if is_qr_iban(self.iban) and not self.reference_prefix.isdigit():
            raise ValueError(
                "a QR-IBAN takes QR references: reference_prefix must be 1 to 16 "
                "digits (the start of every member's reference)"
            )
        if not is_qr_iban(self.iban) and self.reference_prefix.isdigit():
            raise ValueError(
                "a normal IBAN takes creditor references (RF…): reference_prefix "
                "must be letters"
            )
        return self

    @property
    def uses_qrr(self) -> bool:
        """Top-ups carry QR references (a QR-IBAN), not RF creditor references."""
        return self.iban is not None and is_qr_iban(self.iban)


class CoopConfig(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    name: str = Field(min_length=1)
    shop_url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    timezone: str = "Europe/Zurich"
    language: Language = "de"
    admin_email: str | None = None
    rounds: Literal["plugin", "schedule"] = "plugin"
    schedule: ScheduleConfig | None = None
    history_since: date = date(2020, 1, 1)
    poll_minutes: float = Field(default=5.0, gt=0)
    counted_statuses: list[str] = ["processing", "on-hold", "completed", "refunded"]
    requests_per_second: float = Field(default=2.0, ge=0)
    wp_user: str | None = None
    # the coop's postal address, one line per item, for producers' documents
    address: list[str] = []
    # where members pick up, when an order names no place of its own
    pickup_place: str = ""
    # the order meta key that names a member's pickup place or hub, if any
    pickup_meta_key: str | None = None
    pack_policy: PackPolicy = "as-ordered"
    # a producer's round below its minimum: "hold" until an admin decides,
    # or "cancel" its lines at once (members are refunded)
    below_minimum: Literal["hold", "cancel"] = "hold"
    # refunds for what members do not get: also ask the gateway to pay money
    # back for orders not paid from the POT wallet (wallet orders always are)
    gateway_refunds: bool = False
    # what the coop carries of the central catalog (none: no catalog push)
    catalog: CoopCatalog | None = None
    # members' prepaid credit (ledger, top-ups, reconciliation)
    credit: CoopCredit = CoopCredit()
    producers: list[ProducerConfig] = Field(default=[], alias="producer")

    consumer_key: SecretStr | None = Field(default=None, exclude=True)
    consumer_secret: SecretStr | None = Field(default=None, exclude=True)
    wp_app_password: SecretStr | None = Field(default=None, exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, value: str | None) -> str | None:
        return plausible_email(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("shop_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        host = urlsplit(value).hostname or ""
        if value.startswith("http://") and host not in LOOPBACK:
            raise ValueError(
                "must use https: over plain http the application password and the "
                "members' data would travel in clear (http is for a shop on this "
                "machine only)"
            )
        if "@" in urlsplit(value).netloc:
            raise ValueError("must not carry credentials; they come from secrets")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _schedule_when_needed(self) -> CoopConfig:
        if self.rounds == "schedule" and self.schedule is None:
            raise ValueError("rounds = 'schedule' needs a [coop.schedule] table")
        if self.rounds == "plugin" and self.wp_user is None:
            raise ValueError(
                "rounds = 'plugin' needs wp_user, the WordPress user whose "
                "application password reads the plugin's rounds"
            )
        names = [p.name for p in self.producers]
        if len(names) != len(set(names)):
            raise ValueError("a producer is listed twice")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def producer(self, name: str) -> ProducerConfig | None:
        return next((p for p in self.producers if p.name == name), None)

    def pack_policy_of(self, producer: str) -> PackPolicy:
        contact = self.producer(producer)
        if contact is not None and contact.pack_policy is not None:
            return contact.pack_policy
        return self.pack_policy


class Settings(BaseSettings):
    """Global settings; `POT_BRIDGE_DATABASE_URL` etc. override the file."""

    model_config = SettingsConfigDict(
        env_prefix="POT_BRIDGE_", extra="forbid", frozen=True, populate_by_name=True
    )

    state_dir: Path = Path("var")
    database_url: str | None = None
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    outbox_poll_seconds: float = Field(default=30.0, gt=0)
    smtp: SmtpConfig = SmtpConfig()
    catalog: CatalogSource | None = None
    coops: list[CoopConfig] = Field(default=[], alias="coop")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment wins over the file, so a unit can override a key."""
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _unique_slugs(self) -> Settings:
        slugs = [c.slug for c in self.coops]
        duplicated = {s for s in slugs if slugs.count(s) > 1}
        if duplicated:
            raise ValueError(f"coop slug used twice: {', '.join(sorted(duplicated))}")

        seen: dict[str, tuple[str | None, str, bool]] = {}
        for coop in self.coops:
            for producer in coop.producers:
                if producer.identity is None:
                    continue
                terms = (producer.email, producer.language, producer.consolidate)
                first = seen.setdefault(producer.identity, terms)
                if first != terms:
                    raise ValueError(
                        f"producer identity {producer.identity!r} has a different "
                        f"email, language or consolidate in coop {coop.slug!r}: "
                        "one producer, one address"
                    )
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'pot-bridge.sqlite3').resolve()}"

    def coop(self, slug: str) -> CoopConfig:
        for coop in self.coops:
            if coop.slug == slug:
                return coop
        known = ", ".join(c.slug for c in self.coops) or "none"
        raise ConfigError(f"no coop {slug!r} in the configuration (known: {known})")


def env_name(slug: str, field: str) -> str:
    """POT_BRIDGE_<SLUG>_<FIELD>, the environment variable of a coop's secret."""
    return f"POT_BRIDGE_{slug.upper().replace('-', '_')}_{field.upper()}"


def read_secret(
    name: str, credential: str, environ: dict[str, str] | os._Environ[str]
) -> SecretStr | None:
    """A secret from the environment, else from a systemd credential file."""
    if environ.get(name):
        return SecretStr(environ[name])
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / credential
        if path.is_file():
            return SecretStr(path.read_text(encoding="utf-8").strip())
    return None


def load(
    path: Path, environ: dict[str, str] | os._Environ[str] | None = None
) -> Settings:
    """Read, check and complete the configuration, or raise ConfigError.

    The message names the file, the coop and the field, so a volunteer can find
    the line to fix.
    """
    environ = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such configuration file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc

    if isinstance(raw.get("coop"), dict):
        raise ConfigError(
            f"{path}: 'coop' is a single table: write each coop as [[coop]] "
            "(double brackets), even when there is only one"
        )
    _refuse_secrets(path, raw)
    raw = _with_secrets(raw, environ)

    try:
        settings = Settings(**raw)
    except ValidationError as exc:
        raise ConfigError(_describe(path, raw, exc)) from None

    _require_shop_secrets(path, settings)

    return settings


def _refuse_secrets(path: Path, raw: dict[str, Any]) -> None:
    tables: list[tuple[str, dict[str, Any]]] = [("top level", raw)]
    if isinstance(raw.get("smtp"), dict):
        tables.append(("[smtp]", raw["smtp"]))
    for coop in raw.get("coop", []) if isinstance(raw.get("coop"), list) else []:
        if isinstance(coop, dict):
            tables.append((f"coop {coop.get('slug', '?')!r}", coop))
    for where, table in tables:
        found = SECRET_KEYS & set(table)
        if found:
            raise ConfigError(
                f"{path}: {where}: field {min(found)!r} is a secret and does "
                "not belong in the file; set it in the environment or as a systemd "
                "credential (see config.example.toml)"
            )


def _with_secrets(
    raw: dict[str, Any], environ: dict[str, str] | os._Environ[str]
) -> dict[str, Any]:
    raw = dict(raw)
    password = read_secret("POT_BRIDGE_SMTP_PASSWORD", "smtp.password", environ)
    if password is not None:
        smtp = raw.get("smtp", {})
        raw["smtp"] = {**smtp, "password": password} if isinstance(smtp, dict) else smtp
    coops = []
    for coop in raw.get("coop", []) if isinstance(raw.get("coop"), list) else []:
        if isinstance(coop, dict) and isinstance(coop.get("slug"), str):
            coop = dict(coop)
            slug = coop["slug"]
            for field in ("consumer_key", "consumer_secret", "wp_app_password"):
                secret = read_secret(env_name(slug, field), f"{slug}.{field}", environ)
                if secret is not None:
                    coop[field] = secret
        coops.append(coop)
    if "coop" in raw:
        raw["coop"] = coops
    return raw


def _require_shop_secrets(path: Path, settings: Settings) -> None:
    if settings.smtp.username and settings.smtp.password is None:
        raise ConfigError(
            f"{path}: [smtp]: field 'password' is missing for username "
            f"{settings.smtp.username!r}: set POT_BRIDGE_SMTP_PASSWORD or the "
            "systemd credential smtp.password"
        )
    for coop in settings.coops:
        needed = ["consumer_key", "consumer_secret"]
        if coop.rounds == "plugin":
            needed.append("wp_app_password")
        for field in needed:
            if getattr(coop, field) is None:
                raise ConfigError(
                    f"{path}: coop {coop.slug!r}: field {field!r} is missing: set "
                    f"{env_name(coop.slug, field)} or the systemd credential "
                    f"{coop.slug}.{field}"
                )


def _describe(path: Path, raw: dict[str, Any], exc: ValidationError) -> str:
    lines = [f"{path}: the configuration is not valid:"]
    for error in exc.errors():
        loc = list(error["loc"])
        where = "top level"
        if loc[:1] == ["coop"] and len(loc) > 1 and isinstance(loc[1], int):
            coop = raw["coop"][loc[1]]
            slug = coop.get("slug", f"#{loc[1] + 1}") if isinstance(coop, dict) else "?"
            where = f"coop {slug!r}"
            loc = loc[2:]
            producers = coop.get("producer") if isinstance(coop, dict) else None
            if loc[:1] == ["producer"] and len(loc) > 1 and isinstance(loc[1], int):
                entry = (producers or [{}])[loc[1]] if producers else {}
                name = entry.get("name") if isinstance(entry, dict) else None
                where += f", producer {name or '#' + str(loc[1] + 1)!r}"
                loc = loc[2:]
        elif loc[:1] == ["smtp"]:
            where, loc = "[smtp]", loc[1:]
        field = ".".join(str(part) for part in loc) or "(table)"
        lines.append(f"  {where}: field {field!r}: {error['msg']}")
    return "\n".join(lines)
