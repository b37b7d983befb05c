"""The readings ingest body. Field ranges are the plausible ranges of vitals.py,
checked in pydantic-core (Rust) so a batch of 1,000 samples validates fast."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from vitalwatch.ids import Moment
from vitalwatch.vitals import METRIC_INFO

#: Most samples one request may carry.
MAX_SAMPLES = 10_000


def _metric(name: str) -> object:
    info = METRIC_INFO[name]
    return Field(
        default=None,
        ge=info.plausible_low,
        le=info.plausible_high,
        description=f"{info.label} in {info.unit} (LOINC {info.loinc})",
    )


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: Moment | None = Field(
        default=None, description="Measurement time (RFC 3339, UTC); receive time if left out"
    )
    seq: int = Field(ge=0, lt=2**63, description="The device's own increasing counter")
    hr: float | None = _metric("hr")  # type: ignore[assignment]
    sbp: float | None = _metric("sbp")  # type: ignore[assignment]
    dbp: float | None = _metric("dbp")  # type: ignore[assignment]
    map: float | None = _metric("map")  # type: ignore[assignment]
    spo2: float | None = _metric("spo2")  # type: ignore[assignment]
    rr: float | None = _metric("rr")  # type: ignore[assignment]


class ReadingsBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: Annotated[list[Sample], Field(min_length=1, max_length=MAX_SAMPLES)]


ReadingsBatchAdapter: TypeAdapter[ReadingsBatch] = TypeAdapter(ReadingsBatch)


class IngestAck(BaseModel):
    accepted: int
    duplicates: int
