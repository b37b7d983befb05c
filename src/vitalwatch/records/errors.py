"""The records domain's errors: `vitalwatch.errors` refusals (answered by the
one handler in app.py), named for the record they refuse."""

from __future__ import annotations

from vitalwatch.errors import Conflict, Invalid, NotFound


class RecordNotFound(NotFound):
    """No such checklist item, dose, patient or form (no such session is
    `sessions.errors.SessionNotFound`)."""


class RecordConflict(Conflict):
    """The request does not fit the record as it stands."""


class RecordInvalid(Invalid):
    """A field that is wrong for this record: a 422 naming `loc`."""

    def __init__(self, loc: tuple[str, ...], msg: str) -> None:
        super().__init__([{"type": "value_error", "loc": loc, "msg": msg}])
        self.loc = loc
        self.msg = msg
