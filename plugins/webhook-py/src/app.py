"""Entry point: the `switchboard:crm/plugin` export of the `crm` world.

componentize-py looks for a class named after the exported interface
(`Plugin`) in this module. Each method turns the pure modules' results into
the WIT records and their `CrmFailure` into the WIT `crm-error`. The host
makes a fresh instance for every call, so nothing is cached between calls.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NoReturn, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config, log
from wit_world.imports.switchboard_crm_types import (
    CrmError,
    CrmError_InvalidRequest,
    CrmError_NotFound,
    CrmError_RateLimited,
    CrmError_Unauthorized,
    CrmError_Unavailable,
    CrmError_Unsupported,
    Lead,
    LeadKind,
    LeadKind_Feedback,
    LeadKind_Order,
    LeadRef,
    Money,
    Operations,
    PipelineStatus,
    PluginInfo,
    Product,
    ProductPage,
    StatusEvent,
)

from webhook import catalog, lead as leads, settings as settings_mod, wasi_http
from webhook.errors import CrmFailure, from_status

PLUGIN_ID = "webhook"
VERSION = "0.1.0"
USER_AGENT = f"switchboard-webhook/{VERSION}"
# Enough warnings to find a broken row, not enough to flood the host log.
MAX_SKIP_WARNINGS = 10


def _to_wit(failure: CrmFailure) -> CrmError:
    match failure.kind:
        case "unauthorized":
            return CrmError_Unauthorized(failure.message)
        case "rate-limited":
            return CrmError_RateLimited(failure.retry_after_secs)
        case "invalid-request":
            return CrmError_InvalidRequest(failure.message)
        case "not-found":
            return CrmError_NotFound(failure.message)
        case "unsupported":
            return CrmError_Unsupported(failure.message)
        case _:
            return CrmError_Unavailable(failure.message)


def _fail(failure: CrmFailure) -> NoReturn:
    # componentize-py maps a raised `Err(x)` to the `result`'s error case.
    log.log(log.Level.DEBUG, str(failure))
    raise Err(_to_wit(failure))


@contextmanager
def _crm_call() -> Iterator[None]:
    """Turns `CrmFailure` into the WIT error; logs anything else and lets
    it trap (a bug should show up as a plugin fault, not as a CRM error the
    host would retry), with a line that says what it was."""
    try:
        yield
    except CrmFailure as failure:
        _fail(failure)
    except Exception as e:
        log.log(log.Level.ERROR, f"plugin bug, the call traps: {type(e).__name__}: {e}"[:500])
        raise


def _headers(s: settings_mod.Settings) -> list[tuple[str, str]]:
    headers = [("accept", "application/json"), ("user-agent", USER_AGENT)]
    if s.auth_header:
        headers.append(("authorization", s.auth_header))
    return headers


def _fetch_catalog(s: settings_mod.Settings) -> catalog.Catalog:
    response = wasi_http.send("GET", s.catalog_url, _headers(s), b"", "catalog_url")
    if not response.ok:
        raise from_status(response.status, response.headers, response.body, "catalog_url")
    parsed = catalog.parse_catalog(response.body, s.currency)
    for reason in parsed.skipped[:MAX_SKIP_WARNINGS]:
        log.log(log.Level.WARN, f"catalog product left out: {reason}")
    if len(parsed.skipped) > MAX_SKIP_WARNINGS:
        log.log(log.Level.WARN, f"{len(parsed.skipped) - MAX_SKIP_WARNINGS} more catalog products left out")
    return parsed


def _kind_name(kind: LeadKind) -> str:
    if isinstance(kind, LeadKind_Order):
        return "order"
    return "feedback" if isinstance(kind, LeadKind_Feedback) else "question"


def _product(item: catalog.Item) -> Product:
    return Product(
        id=item.id,
        name=item.name,
        variant_name=item.variant_name,
        sku=item.sku,
        price=Money(item.price.minor_units, item.price.scale, item.price.currency),
        description=item.description,
        image_url=item.image_url,
        stock=item.stock,
    )


class Plugin(exports.Plugin):
    def info(self) -> PluginInfo:
        # No `idempotent-create`: a generic webhook has no way to look a key
        # up, so a lead whose answer was lost may arrive twice; receivers
        # dedupe on the `Idempotency-Key` header.
        return PluginInfo(
            id=PLUGIN_ID,
            name="HTTP JSON webhook",
            version=VERSION,
            operations=Operations.GET_PRODUCT,
        )

    def list_products(self, cursor: Optional[str], limit: int) -> ProductPage:
        with _crm_call():
            s = settings_mod.load(config.get)
            page = catalog.page(_fetch_catalog(s), cursor, limit)
        return ProductPage(
            items=[_product(i) for i in page.items],
            next_cursor=page.next_cursor,
            total=page.total,
        )

    def get_product(self, id: str) -> Product:
        with _crm_call():
            s = settings_mod.load(config.get)
            item = _fetch_catalog(s).find(id)
            if item is None:
                raise CrmFailure("not-found", f"product `{id[:100]}` is not in the catalog")
        return _product(item)

    def create_lead(self, lead: Lead) -> LeadRef:
        with _crm_call():
            s = settings_mod.load(config.get)
            kind = lead.kind
            body = leads.payload(
                idempotency_key=lead.idempotency_key,
                kind=_kind_name(kind),
                items=kind.value if isinstance(kind, LeadKind_Order) else (),
                contact=lead.contact,
                title=lead.title,
                comment=lead.comment,
                source=lead.source,
            )
            headers = _headers(s) + [
                ("content-type", "application/json; charset=utf-8"),
                ("idempotency-key", lead.idempotency_key),
                # Lets a receiver tell a retry (2+) from a first offer (1).
                ("x-switchboard-attempt", str(s.attempt)),
            ]
            response = wasi_http.send("POST", s.lead_url, headers, leads.encode(body), "lead_url")
            if not response.ok:
                raise from_status(response.status, response.headers, response.body, "lead_url")
            lead_id, url = leads.lead_ref(response.body, lead.idempotency_key)
        log.log(log.Level.INFO, f"lead {lead_id} accepted by lead_url (attempt {s.attempt})")
        return LeadRef(id=lead_id, url=url)

    def lead_status(self, id: str) -> PipelineStatus:
        _fail(CrmFailure("unsupported", "a webhook has no pipeline to ask"))

    def handle_webhook(self, headers: list[tuple[str, str]], body: bytes) -> list[StatusEvent]:
        _fail(CrmFailure("unsupported", "the webhook plugin receives no status changes"))
