"""CRM errors, and how HTTP answers map to them.

The mapping follows the Rust SDK (`plugins/sdk/src/errors.rs`) so the host's
retry policy treats a Python plugin like the others, with one deliberate
difference: a 404 is `invalid-request`, not `not-found`. For this plugin the
URLs are configuration, never the id of something that may have been
deleted, so a 404 means the operator's URL is wrong; `not-found` is kept for
a product id that is absent from the catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Mapping

# The cases of the WIT `crm-error` variant.
Kind = Literal[
    "unauthorized",
    "rate-limited",
    "unavailable",
    "invalid-request",
    "not-found",
    "unsupported",
]

# The longest CRM message carried in an error, in characters (as the SDK).
MAX_MESSAGE_CHARS = 500


@dataclass
class CrmFailure(Exception):
    """An operation failed; `app` turns it into the WIT `crm-error`.

    `message` is the payload of every case but `rate-limited`, whose payload
    is `retry_after_secs`.
    """

    kind: Kind
    message: str = ""
    retry_after_secs: int = 0

    def __str__(self) -> str:
        if self.kind == "rate-limited":
            return f"rate-limited ({self.retry_after_secs} s)"
        return f"{self.kind}: {self.message}"


def unavailable(message: str) -> CrmFailure:
    return CrmFailure("unavailable", message)


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Cuts text to `limit` characters (Python strings index by code point)."""
    return text if len(text) <= limit else text[:limit] + "…"


def crm_message(body: bytes) -> str:
    """The human message in an error body.

    `message`, `error_description`, `error`, `title` or `detail` of a JSON
    object, plus its validation `errors`; else the body text, shortened.
    """
    try:
        value = json.loads(body)
    except ValueError:
        return shorten(body.decode("utf-8", errors="replace").strip())
    if not isinstance(value, dict):
        return shorten(json.dumps(value, ensure_ascii=False))
    parts: list[str] = []
    for key in ("message", "error_description", "error", "title", "detail"):
        text = value.get(key)
        if isinstance(text, str):
            parts.append(text)
            break
    errors = value.get("errors")
    if errors is not None:
        parts.append(json.dumps(errors, ensure_ascii=False, separators=(",", ":")))
    if not parts:
        return shorten(json.dumps(value, ensure_ascii=False))
    return shorten(" ".join(parts))


def retry_after_secs(headers: Mapping[str, str]) -> int:
    """`Retry-After` in seconds; only the delta-seconds form, else 0.

    The HTTP-date form would need a clock the plugin should not trust for
    this; 0 lets the host apply its own back-off.
    """
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(int(value), 2**32 - 1)
    return 0


def from_status(status: int, headers: Mapping[str, str], body: bytes, what: str) -> CrmFailure:
    """The error for a non-2xx answer from the `what` endpoint.

    `headers` has lower-case names. `what` names the config key
    (`catalog_url`), never the URL: a webhook URL often embeds its secret.
    """
    message = crm_message(body)
    text = f"HTTP {status} from {what}" + (f": {message}" if message else "")
    if status in (401, 403):
        return CrmFailure("unauthorized", text)
    if status == 429:
        return CrmFailure("rate-limited", retry_after_secs=retry_after_secs(headers))
    if status in (408, 425) or 500 <= status <= 599:
        return CrmFailure("unavailable", text)
    return CrmFailure("invalid-request", text)
