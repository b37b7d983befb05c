"""Identifiers as the API accepts them: positive and within a 64-bit column,
so an out-of-range id is a 422 naming the field, never a database error."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path, Query
from pydantic import Field

MAX_ID: Final = 2**63 - 1

BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
