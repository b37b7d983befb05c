"""Why a request is refused, one convention for every domain: a `DomainError`
subclass carries its HTTP status, its headers and its wording (the message),
and one exception handler (app.py) answers it, as `{"detail": ...}` for the
API and as an OperationOutcome under /fhir/r4; the readings route, which runs
before FastAPI, answers with the same `error_body`. Also the 422 body every
endpoint answers with, FastAPI-routed or not."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

#: Longest piece of a rejected string value repeated in an error.
_ECHO_CHARS = 40
#: What JSON encoders take as an integer (orjson: 64 bits; a client may send more).
_I64 = range(-(2**63), 2**63)
#: Past this many bits an integer is left out (Python will not even print one
#: of more than 4,300 digits).
_ECHO_BITS = 128
_NOT_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def text(value: str, limit: int | None = None) -> str:
    """A client's string, fit for any JSON encoder: a lone surrogate (JSON may
    spell one, UTF-8 cannot) written as its escape, trimmed past `limit`."""
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _echo(value: Any) -> tuple[bool, Any]:
    """What of the rejected input an error repeats: numbers and short strings
    (trimmed), never objects or lists (a whole body must not come back). A
    number no JSON encoder writes (beyond 64 bits, NaN, infinite) comes back
    as its text, or is left out when even that is too long."""
    if value is None or isinstance(value, bool):
        return True, value
    if isinstance(value, int):
        if value in _I64:
            return True, value
        return (True, str(value)) if value.bit_length() <= _ECHO_BITS else (False, None)
    if isinstance(value, float):
        return True, value if math.isfinite(value) else _NOT_FINITE[str(value)]
    if isinstance(value, str):
        return True, text(value, _ECHO_CHARS)
    return False, None


def _place(part: Any) -> Any:
    """One step of an error's `loc`: an index, or a name (a client's key, trimmed)."""
    return part if isinstance(part, int) and part in _I64 else text(str(part), _ECHO_CHARS)


def validation_body(errors: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`{"detail": [...]}`, each error naming where (loc) and what (msg); only
    plain JSON values, whatever the client sent."""
    kept = []
    for error in errors:
        item: dict[str, Any] = {"type": text(str(error.get("type", "value_error")))}
        if "loc" in error:
            item["loc"] = [_place(part) for part in error["loc"]]
        item["msg"] = text(str(error.get("msg", "")))
        if "input" in error:
            shown, value = _echo(error["input"])
            if shown:
                item["input"] = value
        kept.append(item)
    return {"detail": kept}


#: The FHIR issue type (OperationOutcome.issue.code) of a refusal by its status.
FHIR_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "expired",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


class DomainError(Exception):
    """A request a domain refuses, raised by services (and routers) as plain
    Python; the edge (the exception handler in app.py, the readings route, the
    cluster's forwarding) answers it as `{"detail": str(exc)}` with `status`
    and `headers`, or, under /fhir/r4, as an OperationOutcome issue of `code`."""

    status = 400
    headers: dict[str, str] | None = None
    #: the FHIR issue type; None: the one FHIR_CODES gives the status
    code: str | None = None

    def fhir_code(self) -> str:
        return self.code or FHIR_CODES.get(self.status, "processing")

    def diagnostics(self) -> list[str]:
        """What an OperationOutcome says, one issue each."""
        if isinstance(self, Invalid | Conflicts):
            return [f"{'.'.join(map(str, e.get('loc', ())))}: {e['msg']}" for e in self.errors]
        return [str(self)]


class NotFound(DomainError, LookupError):
    status = 404


class Conflict(DomainError, ValueError):
    """The request does not fit the record as it stands (an ended session ...)."""

    status = 409


class Unauthorized(DomainError):
    """No valid credential (a failed sign-in)."""

    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status = 403


class Gone(DomainError):
    """What the request names existed but is spent (an expired or used link)."""

    status = 410


class Refused(DomainError, ValueError):
    """A value the domain will not take, worded as one sentence (a 422 whose
    `detail` is text; field-by-field errors are `Invalid`)."""

    status = 422


class TooMany(DomainError):
    """Too many attempts: retry after `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class Unavailable(DomainError):
    """A passing condition (a partition changing hands): the client retries."""

    status = 503
    headers = {"Retry-After": "1"}


class Invalid(DomainError, ValueError):
    """Fields that are wrong: a 422 whose errors name each `loc`, as pydantic's do."""

    status = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid request")
        self.errors = errors


class Conflicts(Conflict):
    """Parts of a request that contradict what is stored: a 409 whose `detail`
    lists each (`loc`, `msg`, and what is stored), built by the service from
    its own values (nothing of the client's is repeated unchecked)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"] if errors else "conflict")
        self.errors = errors


def error_body(exc: DomainError) -> dict[str, Any]:
    """The JSON body of a refused request (the same shape FastAPI gives its own)."""
    if isinstance(exc, Invalid):
        return validation_body(exc.errors)
    if isinstance(exc, Conflicts):
        return {"detail": exc.errors}
    return {"detail": text(str(exc))}
