"""POST /api/v1/readings: devices post batches of samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from vitalwatch.auth.deps import device_token
from vitalwatch.context import Ctx
from vitalwatch.readings import service
from vitalwatch.readings.schemas import IngestAck, ReadingsBatch

router = APIRouter(prefix="/api/v1", tags=["readings"])

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReadingsBatch"}}},
    }
}


@router.post(
    "/readings",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestAck,
    openapi_extra=_BODY_SCHEMA,
    responses={
        409: {"description": "The device is not bound to an active session"},
        422: {"description": "A sample is implausible; the error names sample and field"},
    },
)
async def post_readings(
    request: Request, ctx: Ctx, token: Annotated[str, Depends(device_token)]
) -> IngestAck:
    """Store a batch of samples; 202 only once they are durably committed.

    The body is validated straight from JSON bytes by pydantic-core (the
    schema is `ReadingsBatch`), which is several times faster than FastAPI's
    generic body handling for batches of thousands of samples.
    """
    return await service.ingest(
        await request.body(),
        token,
        ctx.devices,
        ctx.cluster,
        ctx.settings.max_future_skew_s,
    )


# Referenced by _BODY_SCHEMA; registered with the app's OpenAPI in app.py.
OPENAPI_MODELS = (ReadingsBatch,)
