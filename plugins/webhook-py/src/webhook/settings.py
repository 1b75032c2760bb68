"""The plugin's configuration, read once per call.

The host hands over plain strings, already checked against the manifest
(required keys present, no unknown keys) and with `env:`/`file:` secrets
resolved. What the manifest cannot check (URL shape, header syntax) is
checked here, and a bad value is `invalid-request`: retrying cannot fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .errors import CrmFailure
from .money import MoneyError, normalize_currency

Lookup = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class Settings:
    catalog_url: str
    lead_url: str
    # The whole `Authorization` value (`Bearer …`); a secret, never logged.
    auth_header: Optional[str]
    currency: str
    # `call.attempt`: 1 for a lead's first offer, 2+ for retries.
    attempt: int

    def __repr__(self) -> str:
        # Keep the secret (and the URLs, which may embed one) out of any
        # traceback or log line that formats this object.
        return f"Settings(currency={self.currency!r}, attempt={self.attempt})"


def _url(get: Lookup, key: str) -> str:
    value = (get(key) or "").strip()
    if not value:
        raise CrmFailure("invalid-request", f"config `{key}` is not set")
    if not value.lower().startswith(("https://", "http://")):
        raise CrmFailure("invalid-request", f"config `{key}` must be an absolute http(s) URL")
    return value


def load(get: Lookup) -> Settings:
    auth = (get("auth_header") or "").strip() or None
    if auth is not None and any(c in auth for c in "\r\n\0"):
        raise CrmFailure("invalid-request", "config `auth_header` contains a line break")
    try:
        currency = normalize_currency(get("currency") or "UAH")
    except MoneyError as e:
        raise CrmFailure("invalid-request", f"config `currency`: {e}") from None
    attempt_text = get("call.attempt") or "1"
    return Settings(
        catalog_url=_url(get, "catalog_url"),
        lead_url=_url(get, "lead_url"),
        auth_header=auth,
        currency=currency,
        attempt=int(attempt_text) if attempt_text.isdigit() else 1,
    )
