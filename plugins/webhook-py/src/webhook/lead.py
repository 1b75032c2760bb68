"""The JSON a lead is POSTed as, and the receiver's answer.

The payload (schema `switchboard.lead.v1`, documented in docs/plugins.md):

    {
      "schema": "switchboard.lead.v1",
      "idempotency_key": "tg-4242-17",
      "kind": "order",                      # or "feedback", "question"
      "title": "Order from Telegram",
      "source": "telegram",
      "comment": "Nova Poshta, branch 5",   # or null
      "contact": {"full_name": "...", "phone": "+380...", "email": null,
                  "telegram_user_id": 4242, "telegram_username": "olena_p"},
      "items": [{"product_id": "ts-m", "name": "...", "sku": "TS-M",
                 "quantity": 2, "unit_price": "1299.50",
                 "line_total": "2599.00", "currency": "UAH",
                 "image_url": null}],
      "total": "2849.00",                   # null: no items, or mixed currencies
      "currency": "UAH"                     # the total's; null with it
    }

Money is a decimal string, never a JSON number: Zapier, n8n and Make read
JSON numbers as doubles, and a string survives every one of them exactly.
The body is the same on every retry of a lead; the attempt number travels
in a header, so a receiver that hashes bodies still sees duplicates.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Protocol, Sequence

from .catalog import load_json
from .money import Money, rescale, to_decimal

SCHEMA = "switchboard.lead.v1"


# Read-only views of the WIT records (the bindings' dataclasses satisfy
# them), so this module needs no WIT imports and its tests run anywhere.
# Properties, not plain attributes: a protocol's settable attribute would
# have to match its type exactly, and `LineItem.unit_price` is `Money`.
class MoneyLike(Protocol):
    @property
    def minor_units(self) -> int: ...
    @property
    def scale(self) -> int: ...
    @property
    def currency(self) -> str: ...


class LineLike(Protocol):
    @property
    def product_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def sku(self) -> Optional[str]: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> MoneyLike: ...
    @property
    def image_url(self) -> Optional[str]: ...


class ContactLike(Protocol):
    @property
    def full_name(self) -> str: ...
    @property
    def phone(self) -> Optional[str]: ...
    @property
    def email(self) -> Optional[str]: ...
    @property
    def telegram_user_id(self) -> Optional[int]: ...
    @property
    def telegram_username(self) -> Optional[str]: ...


def _money(m: MoneyLike) -> Money:
    return Money(m.minor_units, m.scale, m.currency)


def _total(items: Sequence[LineLike]) -> Optional[Money]:
    """The exact sum, at the largest scale among the items; `None` when the
    currencies differ (adding hryvnias to euros has no meaning)."""
    if not items or len({i.unit_price.currency for i in items}) != 1:
        return None
    scale = max(i.unit_price.scale for i in items)
    units = sum(rescale(_money(i.unit_price), scale).minor_units * i.quantity for i in items)
    return Money(units, scale, items[0].unit_price.currency)


def _line(item: LineLike) -> dict[str, Any]:
    price = _money(item.unit_price)
    return {
        "product_id": item.product_id,
        "name": item.name,
        "sku": item.sku,
        "quantity": item.quantity,
        "unit_price": to_decimal(price),
        "line_total": to_decimal(Money(price.minor_units * item.quantity, price.scale, price.currency)),
        "currency": price.currency,
        "image_url": item.image_url,
    }


def payload(
    *,
    idempotency_key: str,
    kind: str,
    items: Sequence[LineLike],
    contact: ContactLike,
    title: str,
    comment: Optional[str],
    source: str,
) -> dict[str, Any]:
    """The lead as the receiver gets it."""
    total = _total(items)
    return {
        "schema": SCHEMA,
        "idempotency_key": idempotency_key,
        "kind": kind,
        "title": title,
        "source": source,
        "comment": comment,
        "contact": {
            "full_name": contact.full_name,
            "phone": contact.phone,
            "email": contact.email,
            "telegram_user_id": contact.telegram_user_id,
            "telegram_username": contact.telegram_username,
        },
        "items": [_line(i) for i in items],
        "total": to_decimal(total) if total else None,
        "currency": total.currency if total else None,
    }


def encode(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (names and comments stay readable, not \\u-escaped)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def lead_ref(body: bytes, idempotency_key: str) -> tuple[str, Optional[str]]:
    """The lead's id and link from a 2xx answer.

    The receiver accepted the lead, so an answer we cannot read is not an
    error: failing here would make the host retry and create the lead twice.
    `{"id": "..."}` (string or integer) names it; otherwise the idempotency
    key does, which is also what the receiver saw in the header.
    """
    try:
        doc = load_json(body) if body.strip() else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return idempotency_key, None
    raw_id = doc.get("id")
    lead_id = idempotency_key
    if isinstance(raw_id, str) and raw_id.strip():
        lead_id = raw_id.strip()
    elif isinstance(raw_id, int) and not isinstance(raw_id, bool):
        lead_id = str(raw_id)
    url = doc.get("url")
    if not (isinstance(url, str) and url.lower().startswith(("https://", "http://"))):
        url = None
    return lead_id, url
