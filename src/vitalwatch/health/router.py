"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from vitalwatch.context import Ctx
from vitalwatch.errors import NotFound, Unauthorized

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database (or Redis) is not reachable"}})
async def readyz(ctx: Ctx, response: Response) -> dict[str, str]:
    """The database answers; a load balancer sends traffic only while this is 200."""
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "database unreachable"}
    problem = await ctx.cluster.problem()
    if problem is not None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": problem}
    return {"status": "ready"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        401: {"description": "VITALWATCH_METRICS_TOKEN is set: send it as a bearer token"},
        404: {"description": "Neither a metrics token nor public metrics are configured"},
    },
)
async def metrics(request: Request, ctx: Ctx) -> Response:
    """Prometheus text format, for the scraper holding VITALWATCH_METRICS_TOKEN."""
    expected = ctx.settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise Unauthorized("Send Authorization: Bearer <VITALWATCH_METRICS_TOKEN>")
    elif not ctx.settings.metrics_open:
        raise NotFound("Not Found")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
