"""The 422 body every endpoint answers with, FastAPI-routed or not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.encoders import jsonable_encoder

#: What a client needs of an error; pydantic's url and ctx are left out.
_KEPT = ("type", "loc", "msg", "input")


#: Longest piece of a rejected string value repeated in an error.
_ECHO_CHARS = 40


def _echo(value: Any) -> tuple[bool, Any]:
    """What of the rejected input an error repeats: numbers and short strings
    (trimmed), never objects or lists (a whole body must not come back)."""
    if value is None or isinstance(value, bool | int | float):
        return True, value
    if isinstance(value, str):
        return True, value if len(value) <= _ECHO_CHARS else value[:_ECHO_CHARS] + "…"
    return False, None


def validation_body(errors: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`{"detail": [...]}`, each error naming where (loc) and what (msg)."""
    kept = []
    for error in errors:
        item = {k: v for k, v in error.items() if k in _KEPT and k != "input"}
        if "input" in error:
            shown, value = _echo(error["input"])
            if shown:
                item["input"] = value
        kept.append(item)
    return {"detail": jsonable_encoder(kept)}


class DomainError(Exception):
    """A request a domain refuses, raised by services as plain Python; the edge
    (the exception handler in app.py, the readings route, the cluster's
    forwarding) answers it as `{"detail": str(exc)}` with `status`."""

    status = 400
    headers: dict[str, str] | None = None


class NotFound(DomainError, LookupError):
    status = 404


class Conflict(DomainError, ValueError):
    """The request does not fit the record as it stands (an ended session ...)."""

    status = 409


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


def error_body(exc: DomainError) -> dict[str, Any]:
    """The JSON body of a refused request (the same shape FastAPI gives its own)."""
    if isinstance(exc, Invalid):
        return validation_body(exc.errors)
    return {"detail": str(exc)}
