"""Exact money: decimal text <-> integer minor units.

Prices never pass through `float`: `0.1 + 0.2` is not `0.3` in binary
floating point, and an order total that is off by a kopeck is a bug a
customer can see. JSON numbers are read with `json.loads(parse_float=...)`
keeping their text (see `catalog.load_document`), so `12.50` written as a
JSON number is as exact as the string `"12.50"`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ISO 4217 minor-unit exponents that differ from 2. A short table rather than
# a dependency: the component has no filesystem to load one from, and the
# list changes about once a decade.
_SCALE_0 = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
_SCALE_3 = frozenset("BHD IQD JOD KWD LYD OMR TND".split())

_DECIMAL = re.compile(r"^([+-]?)(\d+)(?:\.(\d*))?$|^([+-]?)\.(\d+)$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# The WIT type is s64.
_S64_MAX = 2**63 - 1


class MoneyError(ValueError):
    """A price that is not an exact amount in the currency's minor units."""


@dataclass(frozen=True)
class Money:
    """`minor_units / 10**scale` in `currency`, as in the WIT `money` record."""

    minor_units: int
    scale: int
    currency: str


def currency_scale(currency: str) -> int:
    """How many decimal digits the currency's minor unit has."""
    if currency in _SCALE_0:
        return 0
    if currency in _SCALE_3:
        return 3
    return 2


def normalize_currency(code: str) -> str:
    """An upper-case ISO 4217 code, or `MoneyError`."""
    code = code.strip().upper()
    if not _CURRENCY.match(code):
        raise MoneyError(f"`{code}` is not a three-letter ISO 4217 currency code")
    return code


def parse_decimal(text: str, currency: str) -> Money:
    """Parses `"1299.50"`, `"1299.5"`, `"-3"` at the currency's scale.

    More fraction digits than the currency has are refused rather than
    rounded: a catalog that says `12.345 UAH` is wrong, and guessing how to
    round it would hide that from the shop owner. Trailing zeros beyond the
    scale (`"12.500"`) are fine.
    """
    scale = currency_scale(currency)
    match = _DECIMAL.match(text.strip())
    if match is None:
        raise MoneyError(f"`{text}` is not a decimal number")
    if match.group(2) is not None:
        sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    else:
        sign, whole, frac = match.group(4), "0", match.group(5)
    significant = frac.rstrip("0")
    if len(significant) > scale:
        raise MoneyError(f"`{text}` has more than {scale} decimal digits for {currency}")
    units = int(whole) * 10**scale + (int(significant.ljust(scale, "0")) if scale else 0)
    if units > _S64_MAX:
        raise MoneyError(f"`{text}` is too large")
    return Money(-units if sign == "-" else units, scale, currency)


def from_minor_units(units: int, scale: int, currency: str) -> Money:
    """Money given directly in minor units (`price_minor`)."""
    if not 0 <= scale <= 18:
        raise MoneyError(f"scale {scale} is outside 0..18")
    if abs(units) > _S64_MAX:
        raise MoneyError(f"{units} is too large")
    return Money(units, scale, currency)


def to_decimal(money: Money) -> str:
    """`Money(129950, 2, ...)` -> `"1299.50"`: the text receivers get."""
    if money.scale == 0:
        return str(money.minor_units)
    sign = "-" if money.minor_units < 0 else ""
    whole, frac = divmod(abs(money.minor_units), 10**money.scale)
    return f"{sign}{whole}.{frac:0{money.scale}d}"


def rescale(money: Money, scale: int) -> Money:
    """The same amount with more decimal digits (never fewer: exact only)."""
    if scale < money.scale:
        raise MoneyError("rescaling to fewer digits would round")
    return Money(money.minor_units * 10 ** (scale - money.scale), scale, money.currency)
