"""The central catalog as pot-bridge reads it, whatever the source.

Every producer and product of the POT product database has a POT ID. The feed
(JSON) and the plugin's product sheet (XLSX or CSV) are both read into these
models; a snapshot of them is what the coops' shops are planned against.
Money is Decimal; a float in the feed is refused.

Readers return what they could not use as `CatalogProblem` values beside the
catalog, so one bad product never hides the others.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Literal, NamedTuple, Protocol

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pot_bridge.money import CENT

VatClass = Literal["standard", "reduced", "zero"]


def _refuse_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(  # noqa: TRY004 (pydantic reports ValueErrors)
            "must be a decimal string, not a floating-point number"
        )
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value.strip()):
        raise ValueError("must be written like 4.80 (digits, a point, decimals)")
    return value


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


class CentralProducer(BaseModel):
    """A producer of the POT network: whom a coop orders from."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    pot_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    contact: str = ""
    email: str | None = None
    origin: str = ""

    @field_validator("email")
    @classmethod
    def _plausible_email(cls, value: str | None) -> str | None:
        if not value:
            return None
        if "@" not in value or value.startswith("@") or " " in value:
            raise ValueError("is not an e-mail address")
        return value


class CentralProduct(BaseModel):
    """A product as its producer publishes it centrally.

    `grower` is the plugin's informational `_produzent` where the source names
    one apart from the producer (the sheet does); empty means the producer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    pot_id: str = Field(min_length=1, max_length=64)
    producer_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=400)
    unit: str = Field(default="", max_length=100)
    pack_size: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    price: Decimal = Field(ge=0, max_digits=10, allow_inf_nan=False)
    vat: VatClass = "reduced"
    category: str = ""
    origin: str = ""
    short_description: str = ""
    description: str = ""
    image_url: str | None = Field(default=None, max_length=1000)
    available: bool = Field(default=True, strict=True)
    sku: str | None = Field(default=None, max_length=100)
    modified: AwareDatetime | None = None
    grower: str = Field(default="", max_length=200)

    @field_validator("price", "pack_size", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        return _refuse_float(value)

    @field_validator("price")
    @classmethod
    def _whole_rappen(cls, value: Decimal) -> Decimal:
        # Quantized, so that "4.8" and "4.80" are one price (and one hash).
        if value != value.quantize(CENT):
            raise ValueError("has more than two decimals (a fraction of a Rappen)")
        return value.quantize(CENT)

    @field_validator("pack_size")
    @classmethod
    def _plain_pack(cls, value: Decimal | None) -> Decimal | None:
        # "6", "6.0" and "6E0" are one pack size.
        return None if value is None else Decimal(f"{value.normalize():f}")

    @field_validator("image_url", "sku")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("image_url")
    @classmethod
    def _web_image(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


class Catalog(BaseModel):
    """All producers and products of one import, keyed by POT ID.

    Every product's producer is in `producers`; the readers drop those whose
    producer is unknown, and this check keeps a stored snapshot honest too.
    """

    model_config = ConfigDict(frozen=True)

    producers: dict[str, CentralProducer] = {}
    products: dict[str, CentralProduct] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        for key, producer in self.producers.items():
            if key != producer.pot_id:
                raise ValueError(f"producer {producer.pot_id!r} is filed as {key!r}")
        for key, product in self.products.items():
            if key != product.pot_id:
                raise ValueError(f"product {product.pot_id!r} is filed as {key!r}")
            if product.producer_id not in self.producers:
                raise ValueError(
                    f"product {key!r} names unknown producer {product.producer_id!r}"
                )
        return self


class CatalogProblem(BaseModel):
    """One item of a source that could not be used, and why.

    `item` is where it sits (`products[12]` in the feed, `line 4` in a sheet),
    `column` the field at fault, if one is.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    column: str = ""
    message: str
    pot_id: str = ""
    line: int | None = None

    @property
    def where(self) -> str:
        if not self.column:
            return self.item
        if self.line is None:
            return f"{self.item}.{self.column}"
        return f"{self.item}, column {self.column}"

    def __str__(self) -> str:
        named = f" (POT ID {self.pot_id})" if self.pot_id else ""
        return f"{self.where}: {self.message}{named}"


class CatalogRead(Protocol):
    """What a reader hands to the store; `catalog` is None when nothing changed."""

    @property
    def catalog(self) -> Catalog | None: ...

    @property
    def problems(self) -> tuple[CatalogProblem, ...]: ...

    @property
    def etag(self) -> str: ...

    @property
    def last_modified(self) -> str: ...


class Spot(NamedTuple):
    """Where an item sits in its source, to name it in a problem."""

    item: str
    line: int | None = None

    def problem(self, column: str, message: str, pot_id: str = "") -> CatalogProblem:
        return CatalogProblem(
            item=self.item,
            column=column,
            message=message,
            pot_id=pot_id,
            line=self.line,
        )


def field_errors(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for each complaint of pydantic, worded for an admin."""
    found: list[tuple[str, str]] = []
    for detail in error.errors():
        field = str(detail["loc"][0]) if detail["loc"] else ""
        kind = detail["type"]
        if kind == "missing":
            message = "missing"
        elif kind == "string_too_short":
            message = "empty"
        else:
            message = detail["msg"].removeprefix("Value error, ")
            message = f"{message[:1].lower()}{message[1:]}: {_shown(detail['input'])}"
        found.append((field, message))

    return found


def _shown(value: object) -> str:
    text = f'"{value}"' if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def build_catalog(
    producers: Iterable[tuple[Spot, CentralProducer]],
    products: Iterable[tuple[Spot, CentralProduct]],
    unusable_producers: Collection[str] = (),
) -> tuple[Catalog, list[CatalogProblem]]:
    """Key the valid items by POT ID; the first of two with one ID is kept.

    A product is dropped when its producer is missing (`unusable_producers`
    names those whose own entry was reported) or its SKU is taken already:
    the shops need SKUs unique, since QR labels and self-checkout use them.
    """
    problems: list[CatalogProblem] = []
    kept_producers: dict[str, CentralProducer] = {}
    first_at: dict[str, str] = {}
    for spot, producer in producers:
        if producer.pot_id in kept_producers:
            problems.append(
                spot.problem(
                    "pot_id",
                    f"producer POT ID used before at {first_at[producer.pot_id]}; "
                    "the first is kept",
                    producer.pot_id,
                )
            )
            continue
        kept_producers[producer.pot_id] = producer
        first_at[producer.pot_id] = spot.item

    kept: dict[str, CentralProduct] = {}
    first_at = {}
    sku_at: dict[str, str] = {}
    for spot, product in products:
        problem = _refusal(
            spot, product, kept, first_at, sku_at, kept_producers, unusable_producers
        )
        if problem is not None:
            problems.append(problem)
            continue
        kept[product.pot_id] = product
        first_at[product.pot_id] = spot.item
        if product.sku is not None:
            sku_at[product.sku] = spot.item

    return Catalog(producers=kept_producers, products=kept), problems


def _refusal(
    spot: Spot,
    product: CentralProduct,
    kept: dict[str, CentralProduct],
    first_at: dict[str, str],
    sku_at: dict[str, str],
    producers: dict[str, CentralProducer],
    unusable: Collection[str],
) -> CatalogProblem | None:
    pot_id = product.pot_id
    if pot_id in kept:
        return spot.problem(
            "pot_id",
            f"POT ID used before at {first_at[pot_id]}; the first is kept",
            pot_id,
        )
    if product.producer_id not in producers:
        why = (
            " (its entry could not be read)" if product.producer_id in unusable else ""
        )
        return spot.problem(
            "producer_id", f'no producer "{product.producer_id}"{why}', pot_id
        )
    if product.sku is not None and product.sku in sku_at:
        return spot.problem(
            "sku", f'SKU "{product.sku}" used before at {sku_at[product.sku]}', pot_id
        )

    return None
