"""What the ingest paths (JSON route, HL7, typed-in vitals) need from outside.

The cluster implements it; the readings domain names only this, so it never
imports the cluster that imports it.
"""

from __future__ import annotations

from typing import Protocol

from vitalwatch.readings.writer import IngestResult
from vitalwatch.samples import SampleColumns


class SampleSink(Protocol):
    """Stores and evaluates a device's samples (in the writer whose scope holds
    the device's session)."""

    async def submit(self, device_id: int, columns: SampleColumns) -> IngestResult: ...
