"""A small blocking HTTP client over `wasi:http/outgoing-handler`.

The only way out of the sandbox: Python's `socket`, `urllib.request` and
`http.client` have no sockets to use (the host grants none). This follows the
Rust SDK's client (`plugins/sdk/src/http.rs`): write and finish the request
body, then block on the response, then read the whole body. There is no
event loop because a plugin call makes one request at a time.

Resources are closed explicitly, children before parents (a stream before
its body, a body before its response): wasmtime refuses to drop a resource
that still has children, and Python's garbage collector would drop them in
no particular order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.wasi_http_types import (
    ErrorCode,
    ErrorCode_ConnectionReadTimeout,
    ErrorCode_ConnectionTimeout,
    ErrorCode_HttpRequestDenied,
    ErrorCode_HttpResponseBodySize,
    ErrorCode_HttpResponseTimeout,
    Fields,
    IncomingBody,
    Method,
    Method_Get,
    Method_Post,
    OutgoingBody,
    OutgoingRequest,
    Scheme_Http,
    Scheme_Https,
)

from .errors import CrmFailure

# The most response bytes read; the host enforces its own (usually smaller)
# limit and reports it as `http-response-body-size`.
MAX_BODY = 16 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass
class Response:
    status: int
    # Lower-case names; the last value wins (none of ours repeat).
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299


def _failure(code: ErrorCode, what: str) -> CrmFailure:
    """The CRM error for a request that got no HTTP answer."""
    if isinstance(code, ErrorCode_HttpRequestDenied):
        # Only the operator can fix the allow-list: retrying is pointless.
        return CrmFailure(
            "unauthorized",
            f"the host refused the request to {what}: add its host to allowed_hosts",
        )
    if isinstance(code, ErrorCode_HttpResponseBodySize):
        return CrmFailure("unavailable", f"the answer from {what} is larger than allowed")
    if isinstance(code, (ErrorCode_ConnectionTimeout, ErrorCode_ConnectionReadTimeout, ErrorCode_HttpResponseTimeout)):
        return CrmFailure("unavailable", f"{what} timed out")
    # The class name is the WIT case (`ErrorCode_ConnectionRefused`) and
    # carries no secret, unlike the URL.
    return CrmFailure("unavailable", f"HTTP transport error from {what}: {type(code).__name__.removeprefix('ErrorCode_')}")


def _target(url: str, what: str) -> tuple[bool, str, str]:
    """(https, authority, path-with-query) of an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise CrmFailure("invalid-request", f"{what} is not an absolute http(s) URL")
    path = parts.path or "/"
    return parts.scheme == "https", parts.netloc, path + (f"?{parts.query}" if parts.query else "")


def _write_body(body: OutgoingBody, data: bytes, what: str) -> None:
    stream = body.write()
    try:
        # blocking-write-and-flush takes at most 4096 bytes a call.
        for start in range(0, len(data), 4096):
            stream.blocking_write_and_flush(data[start : start + 4096])
    except Err as e:
        raise CrmFailure("unavailable", f"sending to {what} failed: {type(e.value).__name__}") from None
    finally:
        stream.__exit__(None, None, None)
    try:
        OutgoingBody.finish(body, None)
    except Err as e:
        raise _failure(e.value, what) from None


def _read_body(body: IncomingBody, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        stream = body.stream()
        try:
            while True:
                try:
                    chunk = stream.blocking_read(_CHUNK)
                except Err as e:
                    if isinstance(e.value, StreamError_Closed):
                        break
                    raise CrmFailure("unavailable", f"reading the answer from {what} failed") from None
                size += len(chunk)
                if size > MAX_BODY:
                    raise CrmFailure("unavailable", f"the answer from {what} is larger than {MAX_BODY} bytes")
                chunks.append(chunk)
        finally:
            stream.__exit__(None, None, None)
    except BaseException:
        # Drop the body before the caller drops its response (its parent).
        body.__exit__(None, None, None)
        raise
    IncomingBody.finish(body).__exit__(None, None, None)
    return b"".join(chunks)


def send(method: str, url: str, headers: list[tuple[str, str]], body: bytes, what: str) -> Response:
    """Sends a request and reads the whole answer.

    `what` names the URL in errors (the config key): the URL itself may
    carry a webhook secret and must not reach the host's log.
    Raises `CrmFailure` for every failure, never a WIT `Err`.
    """
    https, authority, path = _target(url, what)
    if body:
        # Without it the body goes out chunked, which simple receivers
        # (Python's http.server, some PHP and serverless setups) cannot read.
        headers = [*headers, ("content-length", str(len(body)))]
    fields = Fields()
    try:
        for name, value in headers:
            fields.append(name, value.encode("utf-8"))
    except Err:
        fields.__exit__(None, None, None)
        raise CrmFailure("invalid-request", f"a header for {what} was refused") from None
    request = OutgoingRequest(fields)
    verb: Method = Method_Post() if method == "POST" else Method_Get()
    try:
        request.set_method(verb)
        request.set_scheme(Scheme_Https() if https else Scheme_Http())
        request.set_authority(authority)
        request.set_path_with_query(path)
        out_body = request.body()
    except Err:
        request.__exit__(None, None, None)
        raise CrmFailure("invalid-request", f"{what} is not a valid URL") from None

    try:
        # `handle` takes the request; the body is written after, as the
        # host's implementation expects.
        future = outgoing_handler.handle(request, None)
    except Err as e:
        out_body.__exit__(None, None, None)
        raise _failure(e.value, what) from None
    _write_body(out_body, body, what)

    with future:
        with future.subscribe() as ready:
            ready.block()
        outcome = future.get()
    if outcome is None or isinstance(outcome, Err):
        raise CrmFailure("unavailable", f"no answer from {what}")
    if isinstance(outcome.value, Err):
        raise _failure(outcome.value.value, what)
    assert isinstance(outcome.value, Ok)
    with outcome.value.value as response:
        status = response.status()
        with response.headers() as fields_in:
            names = {n.lower(): v.decode("utf-8", errors="replace") for n, v in fields_in.entries()}
        try:
            incoming = response.consume()
        except Err:
            raise CrmFailure("unavailable", f"the answer from {what} has no body") from None
        data = _read_body(incoming, what)
    return Response(status, names, data)
