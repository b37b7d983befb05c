"""The probes and metrics a load balancer and Prometheus read, through the real server."""

from __future__ import annotations

import httpx

from tests.support import ServerProcess


def test_health_endpoints(server: ServerProcess) -> None:
    base = server.url
    assert httpx.get(base + "/healthz").json() == {"status": "ok"}
    assert httpx.get(base + "/readyz").json() == {"status": "ready"}
    metrics = httpx.get(base + "/metrics").text
    assert "vitalwatch_ingest_requests_total" in metrics
    assert "vitalwatch_ingest_ack_seconds_bucket" in metrics
