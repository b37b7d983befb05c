"""The FastAPI application and its lifespan: build the long-lived parts, start
the group-commit writer, the alarm clock and the live fan-out; drain on stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from vitalwatch import __version__, heap
from vitalwatch.alarms.router import router as alarms_router
from vitalwatch.auth.router import router as auth_router
from vitalwatch.cluster.service import Cluster, Housekeeping, LocalCluster
from vitalwatch.config import Settings, get_settings
from vitalwatch.context import AppContext
from vitalwatch.db import create_engine, create_sessionmaker
from vitalwatch.devices.router import router as devices_router
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.errors import validation_body
from vitalwatch.health.router import router as health_router
from vitalwatch.live.confirmations import Confirmations
from vitalwatch.live.hub import Hub
from vitalwatch.live.router import router as live_router
from vitalwatch.logging import configure_logging, get_logger
from vitalwatch.notify.outbox import Outbox
from vitalwatch.notify.router import router as notify_router
from vitalwatch.readings import router as readings
from vitalwatch.readings.latest import LatestStore
from vitalwatch.reports.router import router as reports_router
from vitalwatch.sessions.router import router as sessions_router
from vitalwatch.web.router import router as web_router

log = get_logger(__name__)


def build_context(settings: Settings) -> AppContext:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    latest = LatestStore()
    hub = Hub(
        latest,
        maker,
        vitals_interval_s=settings.vitals_interval_s,
        ping_interval_s=settings.ping_interval_s,
    )
    devices = DeviceDirectory(maker)
    outbox = Outbox()  # secondary notification: the alarm service's port
    cluster: Cluster
    if settings.redis_url:
        from vitalwatch.cluster.distributed import RedisCluster

        cluster = RedisCluster(settings, engine, maker, hub, latest, devices, outbox)
    else:
        cluster = LocalCluster(settings, engine, maker, hub, latest, outbox)
    return AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=maker,
        devices=devices,
        latest=latest,
        hub=hub,
        confirmations=Confirmations(maker, hub),
        cluster=cluster,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: AppContext = app.state.ctx
    housekeeping = Housekeeping(ctx.settings, ctx.sessionmaker, ctx.hub, ctx.devices)
    await ctx.hub.start()
    ctx.confirmations.start()
    await ctx.cluster.start()
    housekeeping.start()
    heap.settle_after_startup()
    log.info(
        "service_started",
        version=__version__,
        database=ctx.engine.dialect.name,
        processes="several (redis)" if ctx.settings.redis_url else "one",
    )
    try:
        yield
    finally:
        await ctx.cluster.stop()
        await housekeeping.stop()
        await ctx.confirmations.stop()
        await ctx.hub.stop()
        await ctx.engine.dispose()
        log.info("service_stopped")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content=validation_body(exc.errors()))


class VitalWatchApp(FastAPI):
    """FastAPI, with device readings answered before its routing (readings/router.py)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Behind a proxy prefix (uvicorn --root-path) the path carries the prefix.
        path: str = scope.get("path", "")
        route = path.removeprefix(scope.get("root_path", ""))
        if scope["type"] == "http" and route == readings.PATH:
            await readings.handle(self.state.ctx, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = VitalWatchApp(
        title="VitalWatch",
        version=__version__,
        description="Vital-signs monitoring and alarms for supervised dosing sessions. "
        "Alarm limits are defaults; each clinic is responsible for its own.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ctx = build_context(settings)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for router in (
        health_router,
        auth_router,
        devices_router,
        sessions_router,
        alarms_router,
        notify_router,
        reports_router,
        live_router,
        web_router,
    ):
        app.include_router(router)
    _add_readings_to_openapi(app)
    return app


def _add_readings_to_openapi(app: FastAPI) -> None:
    """The readings route is not a FastAPI route: add its entry and models by hand."""
    from pydantic.json_schema import models_json_schema

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        _, defs = models_json_schema(
            [(m, "validation") for m in readings.OPENAPI_MODELS],
            ref_template="#/components/schemas/{model}",
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        schema["paths"][readings.PATH] = readings.OPENAPI_PATH
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
