"""The service's edge: what every HTTP request meets before any route.

- A path with an encoded NUL (or any control character) is a 400.
- A body larger than its route's limit is a 413, judged by Content-Length
  before anything is read, and by counting while it is read; a body that does
  not arrive within `body_timeout_s` is a 408 (slow clients are cut off).
- API routes need a credential before their body is read: a staff token is
  checked completely here (signature, expiry, the user still accepting it)
  and its claims are left in the request state for the route's dependency; a
  device token (`vwd_...`) is looked up in the device directory. Without one
  the answer is 401 and the body is never read.
- Every answer carries the security headers (CSP without inline script and
  with frame-ancestors 'none', nosniff, a referrer policy).

The readings route does the same checks itself (readings/router.py): it is
answered before this middleware to keep its per-request cost low.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitalwatch.auth.deps import NOT_AUTHENTICATED, staff_claims
from vitalwatch.auth.security import DEVICE_TOKEN_PREFIX

if TYPE_CHECKING:
    from vitalwatch.context import AppContext

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Swagger UI and ReDoc (development only, VITALWATCH_API_DOCS) load from a CDN
#: and start with an inline script; only their own pages get this policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com https://cdn.redoc.ly; worker-src blob:; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset(("/docs", "/redoc", "/docs/oauth2-redirect"))
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
#: Routes that need no credential (the login itself takes one in its body).
#: Routes whose own credential is not a bearer token: the sign-in form, and a
#: phone's signed, single-use acknowledge link (notify/links.py checks it).
PUBLIC_API = frozenset(("/api/v1/auth/token", "/api/v1/notify/ack", "/api/v1/notify/ack/preview"))
PROTECTED_PREFIXES = ("/api/", "/fhir/")
#: A request refused before its body is read keeps its connection (uvicorn
#: discards the body as it arrives) unless more than this is still to come:
#: then the connection is closed, so a flood of large bodies costs the service
#: nothing past their headers (as Go's server does past 256 KiB).
DISCARD_AT_MOST = 256 * 1024


def early_close(declared: int | None) -> list[tuple[bytes, bytes]]:
    """The header that closes the connection after an early answer, when needed."""
    return (
        [(b"connection", b"close")] if declared is not None and declared > DISCARD_AT_MOST else []
    )


#: Smaller limits than VITALWATCH_MAX_BODY_BYTES for routes that take little.
ROUTE_LIMITS = {
    "/api/v1/auth/token": 4096,
    "/api/v1/auth/password": 4096,
    "/api/v1/notify/ack": 4096,
    "/api/v1/notify/ack/preview": 4096,
}
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
_BAD_PATH = re.compile(rb"%0[0-9a-f]|%1[0-9a-f]|%7f", re.IGNORECASE)


class _TooLarge(HTTPException):
    """Raised by `receive` once a body passes its limit. An HTTPException, so the
    route's body parsing lets it through and the app answers it as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class _TooSlow(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            408, "The request body did not arrive in time", headers={"Connection": "close"}
        )


async def answer(
    send: Send, status: int, detail: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """The edge's own refusal: `{"detail": ...}`, with the headers of every answer."""
    extra = [(b"content-security-policy", CSP.encode()), *SECURITY_HEADERS, *(headers or ())]
    await send_json(send, status, {"detail": detail}, extra)


async def _fhir_unauthorized(send: Send, problem: str, headers: list[tuple[bytes, bytes]]) -> None:
    """The FHIR API's 401: an OperationOutcome, as every FHIR error."""
    issue = {"severity": "error", "code": "login", "diagnostics": problem}
    content = {"resourceType": "OperationOutcome", "issue": [issue]}
    extra = [(b"content-security-policy", CSP.encode()), *SECURITY_HEADERS, *headers]
    await send_json(send, 401, content, extra, b"application/fhir+json")


async def send_json(
    send: Send,
    status: int,
    content: Any,
    headers: list[tuple[bytes, bytes]],
    content_type: bytes = b"application/json",
) -> None:
    """A JSON response written by hand, for what answers before FastAPI's
    routing (this middleware and the readings route)."""
    body = orjson.dumps(content)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def bearer(scope: Scope) -> str | None:
    """The token of `Authorization: Bearer <token>`, as FastAPI's HTTPBearer reads it."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            credentials = credentials.strip()
            return credentials if scheme.lower() == "bearer" and credentials else None
    return None


def content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if _BAD_PATH.search(scope.get("raw_path") or b"") or any(ord(c) < 32 for c in path):
            await answer(send, 400, "The request path has a control character")
            return
        send = _with_headers(send, path)
        length = content_length(scope)
        if path.startswith(PROTECTED_PREFIXES) and path not in PUBLIC_API:
            problem = await self._authenticate(scope)
            if problem is not None:
                headers = [(b"www-authenticate", b"Bearer"), *early_close(length)]
                if path.startswith("/fhir/"):
                    await _fhir_unauthorized(send, problem, headers)
                else:
                    await answer(send, 401, problem, headers)
                return
        limit = ROUTE_LIMITS.get(path, self.ctx.settings.max_body_bytes)
        if length is not None and length < 0:
            await answer(send, 400, "The Content-Length header is not a number")
            return
        if length is not None and length > limit:
            await answer(send, 413, _too_large(limit), early_close(length))
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _limited(receive, limit, self.ctx.settings.body_timeout_s), watch)
        except _TooLarge:
            if not started:
                await answer(send, 413, _too_large(limit))
        except _TooSlow:
            if not started:
                close = [(b"connection", b"close")]
                await answer(send, 408, "The request body did not arrive in time", close)

    async def _authenticate(self, scope: Scope) -> str | None:
        """None when the request carries an accepted credential, else the 401 detail."""
        token = bearer(scope)
        if token is None:
            return NOT_AUTHENTICATED
        if token.startswith(DEVICE_TOKEN_PREFIX):
            device = await self.ctx.devices.resolve(token)
            return None if device is not None else "Invalid device token"
        claims = await staff_claims(self.ctx, token)
        if isinstance(claims, str):
            return claims
        scope.setdefault("state", {})["staff"] = claims
        return None


def _too_large(limit: int) -> str:
    return f"The request body is over {limit:,} bytes, the limit of this route"


def _with_headers(send: Send, path: str) -> Send:
    csp = (DOCS_CSP if path in DOCS_PATHS else CSP).encode()

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            names = {name.lower() for name, _ in headers}
            if b"content-security-policy" not in names:
                headers.append((b"content-security-policy", csp))
            headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
            message = {**message, "headers": headers}
        await send(message)

    return sender


def _limited(receive: Receive, limit: int, timeout_s: float) -> Receive:
    """`receive`, counting body bytes and giving the whole body `timeout_s`."""
    size = 0
    complete = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s

    async def limited() -> Message:
        nonlocal size, complete
        if complete:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), max(0.001, deadline - loop.time()))
        except TimeoutError:
            raise _TooSlow from None
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise _TooLarge(limit)
            complete = not message.get("more_body", False)
        return message

    return limited
