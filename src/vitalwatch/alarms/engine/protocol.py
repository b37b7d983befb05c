"""Rules that are not limits: the esketamine pre-dose BP review, and nurses'
observations (MOAA/S at or below 2 is deep sedation: a high alarm; a round
of observations overdue is a low reminder)."""

from __future__ import annotations

from typing import Final

import numpy as np

from vitalwatch.alarms.engine.board import Board
from vitalwatch.alarms.engine.messages import fmt
from vitalwatch.alarms.engine.model import F64, SessionConfig, Transition, Wanted
from vitalwatch.vitals import METRIC_INDEX, PROFILES

_SBP, _DBP = METRIC_INDEX["sbp"], METRIC_INDEX["dbp"]
#: MOAA/S at or below this is deep sedation (a high alarm).
SEDATION_ALARM_AT: Final = 2


def predose_review(
    board: Board, configs: list[SessionConfig], ts: F64, values: F64, now: float
) -> list[Transition]:
    """Esketamine: a BP above 140/90 before dosing asks for review (low)."""
    bp = np.flatnonzero(~np.isnan(values[:, _SBP]) & ~np.isnan(values[:, _DBP]))
    out: list[Transition] = []
    for i in bp.tolist():
        cfg = configs[i]
        limit = PROFILES[cfg.protocol].predose_bp_advisory
        if limit is None or (cfg.first_dose_at is not None and ts[i] >= cfg.first_dose_at):
            continue
        sbp, dbp = float(values[i, _SBP]), float(values[i, _DBP])
        high = sbp > limit[0] or dbp > limit[1]
        message = (
            f"BP {fmt(sbp)}/{fmt(dbp)} mmHg before dosing, above "
            f"{fmt(limit[0])}/{fmt(limit[1])} mmHg: review before dosing"
        )
        wanted: Wanted = {"predose_bp_high": ("low", "sbp")} if high else {}
        out += board.set_problem(
            cfg.session_id,
            "predose_bp_review",
            "physiological",
            wanted,
            float(ts[i]),
            now,
            message,
            value=sbp,
        )
    return out


def observe(
    board: Board, session_id: int, kind: str, value: float, ts: float, clock: float
) -> list[Transition]:
    """A nurse's observation. MOAA/S <= 2 (deep sedation) raises a high
    alarm; a later MOAA/S of 3 or more clears its condition. "observation_due"
    (from the session record: a round of observations is overdue, value 1, or
    done, value 0) is a low reminder that clears itself."""
    if kind == "observation_due":
        due: Wanted = {"observation_due": ("low", None)} if value > 0 else {}
        return board.set_problem(
            session_id,
            "observation_due",
            "physiological",
            due,
            ts,
            clock,
            "Observations due: sedation, dissociation and side effects",
        )
    if kind != "moaa_s":
        return []
    deep = value <= SEDATION_ALARM_AT
    wanted: Wanted = {"moaa_s_low": ("high", None)} if deep else {}
    message = f"Sedation: MOAA/S {value:.0f} (at or below {SEDATION_ALARM_AT})"
    return board.set_problem(
        session_id,
        "sedation",
        "physiological",
        wanted,
        ts,
        clock,
        message,
        value=value,
        worse_high=False,
    )
