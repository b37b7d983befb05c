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
