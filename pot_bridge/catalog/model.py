"""The central catalog as pot-bridge reads it, whatever the source.

Every producer and product of the POT product database has a POT ID. The feed
(JSON) and the plugin's product sheet (XLSX or CSV) are both read into these
models; a snapshot of them is what the coops' shops are planned against.
Money is Decimal; a float in the feed is refused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

VatClass = Literal["standard", "reduced", "zero"]


class CentralProducer(BaseModel):
    """A producer of the POT network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pot_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    contact: str = ""
    email: str | None = None
    origin: str = ""


class CentralProduct(BaseModel):
    """A product as its producer publishes it centrally."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pot_id: str = Field(min_length=1, max_length=64)
    producer_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=400)
    unit: str = Field(default="", max_length=100)
    pack_size: Decimal | None = Field(default=None, gt=0)
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    vat: VatClass = "reduced"
    category: str = ""
    origin: str = ""
    short_description: str = ""
    description: str = ""
    image_url: str | None = None
    available: bool = True
    sku: str | None = Field(default=None, max_length=100)
    modified: datetime | None = None

    @field_validator("price", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(  # noqa: TRY004 (pydantic reports ValueErrors)
                "must be a string or an integer of Rappen-exact CHF, "
                "not a floating-point number"
            )
        return value


class Catalog(BaseModel):
    """All producers and products of one import, keyed by POT ID."""

    model_config = ConfigDict(frozen=True)

    producers: dict[str, CentralProducer] = {}
    products: dict[str, CentralProduct] = {}
