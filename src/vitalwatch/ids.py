"""Identifiers and instants as the API accepts them.

An id is positive and within a 64-bit column, and an instant carries an
offset and lies where UTC can hold it (`0001-01-01T00:00+01:00` cannot): an
out-of-range value is a 422 naming the field, never a database error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field

MAX_ID: Final = 2**63 - 1

BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _in_utc_range(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("this instant is outside the range of dates that can be stored") from None
    return value


#: An instant with its offset, as given (stored in UTC).
Moment = Annotated[AwareDatetime, AfterValidator(_in_utc_range)]
