"""The records domain's errors, answered by `handler` (registered in app.py)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from vitalwatch.errors import validation_body


class RecordError(Exception):
    status = 400


class RecordNotFound(RecordError, LookupError):
    """No such session, checklist item, dose, patient or form."""

    status = 404


class RecordConflict(RecordError, ValueError):
    """The request does not fit the record as it stands."""

    status = 409


class RecordInvalid(RecordError, ValueError):
    """A field that is wrong for this record: a 422 naming `loc`."""

    status = 422

    def __init__(self, loc: tuple[str, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


async def handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RecordError)
    if isinstance(exc, RecordInvalid):
        body = validation_body([{"type": "value_error", "loc": exc.loc, "msg": exc.msg}])
        return JSONResponse(status_code=422, content=body)
    return JSONResponse(status_code=exc.status, content={"detail": str(exc)})
