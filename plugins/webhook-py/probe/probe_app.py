"""A test-only component (never shipped): what a Python plugin can see of
the machine it runs on, from inside the host's sandbox.

Built by ../build.sh into plugins/dist/test/webhook-probe.wasm with the same
componentize-py and world as the webhook plugin; the host test
`webhook_py_sees_no_files_env_or_sockets` reads the report from the one
product's description. The real plugin has no such code path.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Callable, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.switchboard_crm_types import (
    CrmError_Unsupported,
    Lead,
    LeadRef,
    Money,
    Operations,
    PipelineStatus,
    PluginInfo,
    Product,
    ProductPage,
    StatusEvent,
)


def attempt(action: Callable[[], object]) -> str:
    """`ok: <result>` or the exception's type, for the report."""
    try:
        return f"ok: {action()!r}"[:200]
    except BaseException as e:  # noqa: BLE001 - the report wants every outcome
        return f"{type(e).__name__}"


def read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read(64).decode("latin-1")


def report() -> dict[str, object]:
    return {
        "environ": sorted(os.environ.keys()),
        "argv": sys.argv,
        "listdir_root": attempt(lambda: os.listdir("/")),
        "listdir_cwd": attempt(lambda: os.listdir(".")),
        "read_etc_passwd": attempt(lambda: read("/etc/passwd")),
        "read_proc_environ": attempt(lambda: read("/proc/self/environ")),
        "write_tmp": attempt(lambda: open("/tmp/switchboard-probe", "w").write("x")),
        "tcp_socket": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
        "tcp_connect": attempt(lambda: socket.create_connection(("127.0.0.1", 80), timeout=1)),
        "dns": attempt(lambda: socket.getaddrinfo("example.com", 443)),
        # Standard-library modules the app did not import at build time:
        # is the library bundled, or only what the build-time snapshot holds?
        "lazy_import_fractions": attempt(lambda: __import__("fractions").Fraction(1, 3)),
        "idna_codec": attempt(lambda: "example.com".encode("idna")),
    }


class Plugin(exports.Plugin):
    def info(self) -> PluginInfo:
        return PluginInfo(id="webhook-probe", name="Python sandbox probe", version="0.0.0", operations=Operations(0))

    def list_products(self, cursor: Optional[str], limit: int) -> ProductPage:
        item = Product(
            id="report",
            name="report",
            variant_name=None,
            sku=None,
            price=Money(0, 2, "UAH"),
            description=json.dumps(report()),
            image_url=None,
            stock=None,
        )
        return ProductPage(items=[item], next_cursor=None, total=1)

    def get_product(self, id: str) -> Product:
        raise Err(CrmError_Unsupported("probe"))

    def create_lead(self, lead: Lead) -> LeadRef:
        raise Err(CrmError_Unsupported("probe"))

    def lead_status(self, id: str) -> PipelineStatus:
        raise Err(CrmError_Unsupported("probe"))

    def handle_webhook(self, headers: list[tuple[str, str]], body: bytes) -> list[StatusEvent]:
        raise Err(CrmError_Unsupported("probe"))
