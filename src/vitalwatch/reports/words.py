"""Rules, conditions and limits in the clinic's words, for the report's rows."""

from __future__ import annotations

from typing import Final

from vitalwatch.vitals import METRIC_INFO

_RULES: Final = {
    "bp": "Blood pressure",
    "hr": "Heart rate",
    "spo2": "SpO2",
    "rr": "Respiratory rate",
    "monitor": "Monitor (technical)",
    "no_monitor": "No monitor",
    "bp_overdue": "BP measurement overdue",
    "bp_check_due": "BP check due",
    "predose_bp_review": "Pre-dose BP review",
    "sedation": "Deep sedation (MOAA/S)",
}
_LIMITS: Final = {
    "low": "low",
    "high": "high",
    "critical_low": "high-priority low",
    "critical_high": "high-priority high",
    "for_s": "alarm delay",
    "baseline_rise": "rise over baseline",
}


def rule_label(rule: str) -> str:
    return _RULES.get(rule, rule)


def condition_label(condition: str) -> str:
    """ "sbp_high" -> "SBP high", "no_signal:spo2" -> "No SpO2 signal"."""
    if condition == "offline":
        return "Monitor offline"
    head, sep, metric = condition.partition(":")
    if sep and head == "no_signal" and metric in METRIC_INFO:
        return f"No {METRIC_INFO[metric].label} signal"
    metric, sep, kind = condition.partition("_")
    if sep and metric in METRIC_INFO and kind in ("low", "high", "baseline_rise"):
        return f"{METRIC_INFO[metric].label} {_LIMITS[kind]}"
    return rule_label(condition)


def limit_label(metric: str, limit: str) -> str:
    """ "SpO2 low", "HR alarm delay", "SBP rise over baseline"."""
    return f"{METRIC_INFO[metric].label} {_LIMITS[limit]}"
