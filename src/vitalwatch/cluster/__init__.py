"""How sessions' alarm evaluation is spread over service processes.

One process (no Redis): a single partition holds every session. Several
processes (`VITALWATCH_REDIS_URL`): sessions are split into partitions by
`session_id % partitions`; each partition is evaluated by exactly one process,
which holds its lease, and samples reach it through a Redis stream.
"""
