"""Unit tests of the plain-Python modules (no WIT imports needed).

Run with `python3 -m unittest discover -s plugins/webhook-py/tests -t plugins/webhook-py`
(build.sh does); the component itself is tested by the host's
`host/switchboard/tests/all/webhook_py.rs`.
"""

from __future__ import annotations

import json
import sys
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from webhook import catalog, errors, lead, settings  # noqa: E402
from webhook.errors import CrmFailure  # noqa: E402
from webhook.money import Money, MoneyError, parse_decimal, to_decimal  # noqa: E402


class MoneyTest(unittest.TestCase):
    def test_parses_exactly(self) -> None:
        self.assertEqual(parse_decimal("1299.50", "UAH"), Money(129950, 2, "UAH"))
        self.assertEqual(parse_decimal("1299.5", "UAH"), Money(129950, 2, "UAH"))
        self.assertEqual(parse_decimal("0.10", "USD"), Money(10, 2, "USD"))
        self.assertEqual(parse_decimal("-3", "EUR"), Money(-300, 2, "EUR"))
        self.assertEqual(parse_decimal(".5", "EUR"), Money(50, 2, "EUR"))
        self.assertEqual(parse_decimal("1500", "JPY"), Money(1500, 0, "JPY"))
        self.assertEqual(parse_decimal("1.234", "KWD"), Money(1234, 3, "KWD"))
        self.assertEqual(parse_decimal("12.500", "UAH"), Money(1250, 2, "UAH"))

    def test_refuses_what_would_need_rounding(self) -> None:
        for text in ("12.345", "1e3", "abc", "", "1.2.3", "NaN", "12,50"):
            with self.assertRaises(MoneyError, msg=text):
                parse_decimal(text, "UAH")
        with self.assertRaises(MoneyError):
            parse_decimal("1.5", "JPY")
        with self.assertRaises(MoneyError):
            parse_decimal("99999999999999999999", "UAH")

    def test_renders(self) -> None:
        self.assertEqual(to_decimal(Money(129950, 2, "UAH")), "1299.50")
        self.assertEqual(to_decimal(Money(-5, 2, "UAH")), "-0.05")
        self.assertEqual(to_decimal(Money(7, 0, "JPY")), "7")


def doc(*products: object, **top: object) -> bytes:
    return json.dumps({"products": list(products), **top}).encode()


class CatalogTest(unittest.TestCase):
    def test_reads_every_price_form_without_floats(self) -> None:
        body = b'{"products": [' \
            b'{"id": "a", "name": "A", "price": "12.50"},' \
            b'{"id": 7, "name": "B", "price": 0.30},' \
            b'{"id": "c", "name": "C", "price_minor": 129950},' \
            b'{"id": "d", "name": "D", "price_minor": 5, "price_scale": 3, "currency": "usd"},' \
            b'{"id": "e", "name": "E", "price": 100000000000000.01}]}'
        cat = catalog.parse_catalog(body, "UAH")
        self.assertEqual(cat.skipped, [])
        prices = [i.price for i in cat.items]
        self.assertEqual(
            prices,
            [
                Money(1250, 2, "UAH"),
                Money(30, 2, "UAH"),
                Money(129950, 2, "UAH"),
                Money(5, 3, "USD"),
                Money(10000000000000001, 2, "UAH"),
            ],
        )
        self.assertEqual(cat.items[1].id, "7")

    def test_leaves_out_hidden_and_broken_products(self) -> None:
        cat = catalog.parse_catalog(
            doc(
                {"id": "ok", "name": "Ok", "price": "1", "in_stock": False},
                {"id": "h", "name": "Hidden", "price": "1", "hidden": True},
                {"id": "x", "name": "No price"},
                {"id": "y", "name": "Both", "price": "1", "price_minor": 100},
                {"id": "z", "name": "Too precise", "price": "1.005"},
                {"id": "ok", "name": "Duplicate", "price": "2"},
                {"id": "img", "name": "Bad image", "price": "1", "image_url": "ftp://x"},
                "not an object",
            ),
            "UAH",
        )
        self.assertEqual([i.id for i in cat.items], ["ok"])
        self.assertEqual(cat.items[0].stock, 0)
        self.assertEqual(len(cat.skipped), 6, cat.skipped)
        self.assertIn("products[5]: duplicate id `ok`", cat.skipped)

    def test_stock(self) -> None:
        cat = catalog.parse_catalog(
            doc(
                {"id": "1", "name": "n", "price": "1", "in_stock": 4},
                {"id": "2", "name": "n", "price": "1", "in_stock": True},
                {"id": "3", "name": "n", "price": "1"},
            ),
            "UAH",
        )
        self.assertEqual([i.stock for i in cat.items], [4, None, None])

    def test_malformed_documents_are_unavailable(self) -> None:
        for body in (b"<html>oops</html>", b'{"products": {}}', b"[]", b'{"products": [NaN]}'):
            with self.assertRaises(CrmFailure) as ctx:
                catalog.parse_catalog(body, "UAH")
            self.assertEqual(ctx.exception.kind, "unavailable", body)

    def test_pages_with_an_opaque_cursor(self) -> None:
        cat = catalog.parse_catalog(
            doc(*({"id": str(n), "name": f"P{n}", "price": "1"} for n in range(7))), "UAH"
        )
        seen: list[str] = []
        cursor: Optional[str] = None
        pages = 0
        while True:
            page = catalog.page(cat, cursor, 3)
            self.assertLessEqual(len(page.items), 3)
            self.assertEqual(page.total, 7)
            seen += [i.id for i in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        self.assertEqual(seen, [str(n) for n in range(7)])
        self.assertEqual(pages, 3)
        self.assertEqual(len(catalog.page(cat, None, 1000).items), 7)
        self.assertEqual(len(catalog.page(cat, None, 0).items), 1)
        self.assertIsNone(catalog.page(cat, "o:99", 3).next_cursor)
        with self.assertRaises(CrmFailure) as ctx:
            catalog.page(cat, "page=2", 3)
        self.assertEqual(ctx.exception.kind, "invalid-request")


@dataclass
class M:
    minor_units: int
    scale: int
    currency: str


@dataclass
class Line:
    product_id: str
    name: str
    sku: Optional[str]
    quantity: int
    unit_price: M
    image_url: Optional[str]


@dataclass
class Who:
    full_name: str
    phone: Optional[str]
    email: Optional[str]
    telegram_user_id: Optional[int]
    telegram_username: Optional[str]


WHO = Who("Олена", "+380501234567", None, 4242, "olena_p")


class LeadTest(unittest.TestCase):
    def test_order_payload_has_exact_money_strings(self) -> None:
        body = lead.payload(
            idempotency_key="k1",
            kind="order",
            items=[
                Line("1", "Футболка", "TS-1", 2, M(129950, 2, "UAH"), None),
                Line("2", "Чашка", None, 1, M(25000, 2, "UAH"), "https://img/2.jpg"),
            ],
            contact=WHO,
            title="Order",
            comment=None,
            source="telegram",
        )
        self.assertEqual(body["total"], "2849.00")
        self.assertEqual(body["currency"], "UAH")
        self.assertEqual(body["items"][0]["line_total"], "2599.00")
        self.assertEqual(body["items"][0]["unit_price"], "1299.50")
        self.assertEqual(body["schema"], "switchboard.lead.v1")
        self.assertIn("Футболка".encode(), lead.encode(body))

    def test_mixed_currencies_have_no_total(self) -> None:
        body = lead.payload(
            idempotency_key="k",
            kind="order",
            items=[Line("1", "a", None, 1, M(1, 2, "UAH"), None), Line("2", "b", None, 1, M(1, 2, "EUR"), None)],
            contact=WHO,
            title="t",
            comment=None,
            source="s",
        )
        self.assertIsNone(body["total"])
        self.assertIsNone(body["currency"])

    def test_mixed_scales_add_exactly(self) -> None:
        body = lead.payload(
            idempotency_key="k",
            kind="order",
            items=[Line("1", "a", None, 3, M(10, 1, "UAH"), None), Line("2", "b", None, 1, M(5, 2, "UAH"), None)],
            contact=WHO,
            title="t",
            comment=None,
            source="s",
        )
        self.assertEqual(body["total"], "3.05")

    def test_lead_ref(self) -> None:
        self.assertEqual(lead.lead_ref(b'{"id": "L-9"}', "k"), ("L-9", None))
        self.assertEqual(lead.lead_ref(b'{"id": 42, "url": "https://crm/42"}', "k"), ("42", "https://crm/42"))
        self.assertEqual(lead.lead_ref(b"Workflow was started", "k"), ("k", None))
        self.assertEqual(lead.lead_ref(b"", "k"), ("k", None))
        self.assertEqual(lead.lead_ref(b'{"status": "success"}', "k"), ("k", None))


class ErrorsTest(unittest.TestCase):
    def test_maps_statuses_like_the_rust_sdk(self) -> None:
        def kind(status: int, headers: Optional[dict[str, str]] = None, body: bytes = b"") -> CrmFailure:
            return errors.from_status(status, headers or {}, body, "lead_url")

        self.assertEqual(kind(401).kind, "unauthorized")
        self.assertEqual(kind(403).kind, "unauthorized")
        self.assertEqual(kind(429, {"retry-after": "17"}).retry_after_secs, 17)
        self.assertEqual(kind(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}).retry_after_secs, 0)
        self.assertEqual(kind(500).kind, "unavailable")
        self.assertEqual(kind(503).kind, "unavailable")
        self.assertEqual(kind(408).kind, "unavailable")
        self.assertEqual(kind(404).kind, "invalid-request")
        invalid = kind(422, body=b'{"message": "phone is required", "errors": {"phone": ["required"]}}')
        self.assertEqual(invalid.kind, "invalid-request")
        self.assertEqual(invalid.message, 'HTTP 422 from lead_url: phone is required {"phone":["required"]}')

    def test_messages_are_shortened(self) -> None:
        self.assertEqual(len(errors.crm_message(b"x" * 2000)), 501)


class SettingsTest(unittest.TestCase):
    def test_reads_and_checks(self) -> None:
        values = {"catalog_url": "https://a/c.json", "lead_url": "https://b/h", "currency": "usd", "call.attempt": "2"}
        s = settings.load(values.get)
        self.assertEqual((s.currency, s.attempt, s.auth_header), ("USD", 2, None))
        values["auth_header"] = "Bearer secret-token"
        self.assertNotIn("secret-token", repr(settings.load(values.get)))
        values["lead_url"] = "hooks.zapier.com/x"
        with self.assertRaises(CrmFailure):
            settings.load(values.get)


if __name__ == "__main__":
    unittest.main()
