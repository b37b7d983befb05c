"""Prometheus metrics (GET /metrics): ingest volume and latency, alarms, live."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

INGEST_REQUESTS = Counter(
    "vitalwatch_ingest_requests_total", "Readings requests by outcome", ["outcome"]
)
INGEST_SAMPLES = Counter(
    "vitalwatch_ingest_samples_total", "Samples received by outcome", ["outcome"]
)
INGEST_LATENCY = Histogram(
    "vitalwatch_ingest_ack_seconds",
    "From request received to durable acknowledgement",
    buckets=_LATENCY_BUCKETS,
)
INGEST_COMMIT_SECONDS = Histogram(
    "vitalwatch_ingest_commit_seconds", "Duration of one group commit", buckets=_LATENCY_BUCKETS
)
INGEST_COMMIT_ROWS = Histogram(
    "vitalwatch_ingest_commit_rows",
    "Samples stored per group commit",
    buckets=(1, 10, 100, 1_000, 10_000, 100_000),
)
INGEST_GROUP_REQUESTS = Histogram(
    "vitalwatch_ingest_commit_requests",
    "Requests sharing one group commit",
    buckets=(1, 2, 5, 10, 50, 100, 500, 1_000),
)
EVENT_LOOP_LAG = Histogram(
    "vitalwatch_event_loop_lag_seconds",
    "How late a 0.25 s timer fires: time the event loop (and every alarm) had to wait",
    buckets=_LATENCY_BUCKETS,
)
ALARM_TRANSITIONS = Counter(
    "vitalwatch_alarm_transitions_total", "Alarm transitions", ["action", "priority"]
)
ALARM_EVAL_SECONDS = Histogram(
    "vitalwatch_alarm_evaluation_seconds",
    "Alarm engine time per group commit",
    buckets=_LATENCY_BUCKETS,
)
ACTIVE_SESSIONS = Gauge(
    "vitalwatch_active_sessions",
    "Sessions whose alarms this process evaluates, by partition",
    ["partition"],
)
PARTITIONS_OWNED = Gauge("vitalwatch_partitions_owned", "Session partitions this process evaluates")
CLUSTER_MESSAGES = Counter(
    "vitalwatch_cluster_messages_total",
    "Messages handled for another process (or this one) through Redis",
    ["kind", "outcome"],
)
LIVE_CLIENTS = Gauge("vitalwatch_live_clients", "Connected dashboards")
LIVE_DROPPED = Counter(
    "vitalwatch_live_clients_dropped_total", "Dashboards disconnected for falling behind"
)
HL7_MESSAGES = Counter(
    "vitalwatch_hl7_messages_total",
    "HL7 messages received over MLLP, by type and acknowledgement",
    ["type", "ack"],
)
HL7_ROWS_SKIPPED = Counter(
    "vitalwatch_hl7_rows_skipped_total",
    "OBX rows not stored, by reason (unmapped, unit, waveform, ignored, other_source, "
    "status, not_numeric, no_value, implausible, time)",
    ["reason"],
)
HL7_CONNECTIONS = Gauge("vitalwatch_hl7_connections", "Open MLLP connections")
