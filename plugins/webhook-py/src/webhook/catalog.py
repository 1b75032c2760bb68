"""The catalog document, its products and local pagination.

The document (documented in docs/plugins.md, "A plugin in Python"):

    {
      "currency": "UAH",                       # optional, default: config
      "products": [
        {
          "id": "ts-m",                        # string or integer, unique
          "name": "T-shirt Basic, M",
          "variant_name": "M",                 # optional
          "sku": "TS-M",                       # optional
          "price": "1299.50",                  # decimal, major units, or
          "price_minor": 129950,               #   integer minor units
          "price_scale": 2,                    #   (optional; the currency's)
          "currency": "UAH",                   # optional, per product
          "description": "...",                # optional
          "image_url": "https://...",          # optional, http(s) only
          "in_stock": 12,                      # optional: count, true, false
          "hidden": false                      # optional: true leaves it out
        }
      ]
    }

A product that breaks these rules is left out with a warning (the host log
names it) rather than failing the whole catalog: one typo in a spreadsheet
row must not take the shop's every other product offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import CrmFailure, unavailable
from .money import (
    Money,
    MoneyError,
    currency_scale,
    from_minor_units,
    normalize_currency,
    parse_decimal,
)

# The host asks for 1 to 250 items a page.
MAX_PAGE = 250
_CURSOR_PREFIX = "o:"
_S64_MAX = 2**63 - 1


class JsonDecimal(str):
    """The text of a JSON number with a fraction or exponent, kept exact.

    `json.loads` would make it a float; the text goes to `parse_decimal`.
    """


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def load_json(body: bytes) -> Any:
    """JSON with fractional numbers kept as text (no floats anywhere)."""
    return json.loads(body, parse_float=JsonDecimal, parse_constant=_refuse_constant)


@dataclass(frozen=True)
class Item:
    """One product, in the shape of the WIT `product` record."""

    id: str
    name: str
    variant_name: Optional[str]
    sku: Optional[str]
    price: Money
    description: Optional[str]
    image_url: Optional[str]
    stock: Optional[int]


@dataclass
class Catalog:
    """The visible products in document order, and what was left out why."""

    items: list[Item]
    skipped: list[str] = field(default_factory=list)

    def find(self, product_id: str) -> Optional[Item]:
        return next((i for i in self.items if i.id == product_id), None)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_cursor: Optional[str]
    total: int


def _opt_text(raw: dict[str, Any], key: str) -> Optional[str]:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be a string")
    value = value.strip()
    return value or None


def _price(raw: dict[str, Any], currency: str) -> Money:
    has_price, has_minor = "price" in raw, "price_minor" in raw
    if has_price == has_minor:
        raise ValueError("exactly one of `price` and `price_minor` is required")
    if has_price:
        value = raw["price"]
        # bool is an int subclass; `"price": true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError("`price` must be a decimal string or number")
        return parse_decimal(str(value), currency)
    units, scale = raw["price_minor"], raw.get("price_scale")
    if isinstance(units, bool) or not isinstance(units, int):
        raise ValueError("`price_minor` must be an integer")
    if scale is None:
        return from_minor_units(units, currency_scale(currency), currency)
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise ValueError("`price_scale` must be an integer")
    return from_minor_units(units, scale, currency)


def _stock(value: Any) -> Optional[int]:
    # `none` means unknown in the WIT, so `true` (in stock, count unknown)
    # is `None` and only `false` says zero.
    if value is None or value is True:
        return None
    if value is False:
        return 0
    if isinstance(value, int) and abs(value) <= _S64_MAX:
        return value
    raise ValueError("`in_stock` must be an integer, true, false or null")


def _image_url(raw: dict[str, Any]) -> Optional[str]:
    url = _opt_text(raw, "image_url")
    if url is not None and not url.lower().startswith(("https://", "http://")):
        raise ValueError("`image_url` must be an absolute http(s) URL")
    return url


def _item(raw: Any, default_currency: str) -> Optional[Item]:
    """The product, `None` when hidden; `ValueError` when malformed."""
    if not isinstance(raw, dict):
        raise ValueError("a product must be a JSON object")
    if raw.get("hidden") is True:
        return None
    pid = raw.get("id")
    if isinstance(pid, bool) or not isinstance(pid, (str, int)) or str(pid).strip() == "":
        raise ValueError("`id` must be a non-empty string or an integer")
    name = _opt_text(raw, "name")
    if name is None:
        raise ValueError("`name` is required")
    currency_text = _opt_text(raw, "currency")
    currency = normalize_currency(currency_text) if currency_text else default_currency
    return Item(
        id=str(pid).strip(),
        name=name,
        variant_name=_opt_text(raw, "variant_name"),
        sku=_opt_text(raw, "sku"),
        price=_price(raw, currency),
        description=_opt_text(raw, "description"),
        image_url=_image_url(raw),
        stock=_stock(raw.get("in_stock")),
    )


def parse_catalog(body: bytes, config_currency: str) -> Catalog:
    """The catalog from the document's bytes.

    A document that is not JSON or has no `products` list is `unavailable`
    (the endpoint is probably returning an error page; the host retries).
    """
    try:
        doc = load_json(body)
    except ValueError as e:
        raise unavailable(f"malformed JSON from catalog_url: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("products"), list):
        raise unavailable("the catalog_url document has no `products` list")
    try:
        doc_currency = doc.get("currency")
        currency = normalize_currency(doc_currency if isinstance(doc_currency, str) else config_currency)
    except MoneyError as e:
        raise CrmFailure("invalid-request", f"catalog currency: {e}") from None

    catalog = Catalog(items=[])
    seen: set[str] = set()
    for index, raw in enumerate(doc["products"]):
        try:
            item = _item(raw, currency)
        except (ValueError, MoneyError) as e:
            catalog.skipped.append(f"products[{index}]: {e}")
            continue
        if item is None:
            continue
        if item.id in seen:
            catalog.skipped.append(f"products[{index}]: duplicate id `{item.id}`")
            continue
        seen.add(item.id)
        catalog.items.append(item)
    return catalog


def decode_cursor(cursor: Optional[str]) -> int:
    """The offset a cursor stands for; `invalid-request` for a foreign one."""
    if cursor is None:
        return 0
    digits = cursor[len(_CURSOR_PREFIX):] if cursor.startswith(_CURSOR_PREFIX) else ""
    if not digits.isdigit():
        raise CrmFailure("invalid-request", f"`{cursor[:40]}` is not a cursor of this plugin")
    return int(digits)


def page(catalog: Catalog, cursor: Optional[str], limit: int) -> Page:
    """One page: at most `limit` (clamped to 1..250) items from the cursor.

    The cursor is an offset into the document's order. Offsets are stable
    as long as the document is; a product added or removed between two
    pages shifts the rest by one, which a catalog sync tolerates (it reads
    every page and keeps the last price it saw).
    """
    offset = decode_cursor(cursor)
    size = max(1, min(limit, MAX_PAGE))
    items = catalog.items[offset : offset + size]
    end = offset + len(items)
    more = end < len(catalog.items) and len(items) > 0
    return Page(items, f"{_CURSOR_PREFIX}{end}" if more else None, len(catalog.items))
