"""The 422 body every endpoint answers with, FastAPI-routed or not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.encoders import jsonable_encoder

#: What a client needs of an error; pydantic's url and ctx are left out.
_KEPT = ("type", "loc", "msg", "input")


def validation_body(errors: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`{"detail": [...]}`, each error naming where (loc) and what (msg)."""
    kept = [{k: v for k, v in e.items() if k in _KEPT} for e in errors]
    return {"detail": jsonable_encoder(kept)}
