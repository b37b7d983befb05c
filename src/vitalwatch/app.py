"""The FastAPI application and its lifespan: build the long-lived parts, start
the group-commit writer, the alarm clock and the live fan-out; drain on stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from vitalwatch import __version__, heap
from vitalwatch.alarms.router import router as alarms_router
from vitalwatch.audit.router import router as audit_router
from vitalwatch.audit.service import AuditQueue
from vitalwatch.auth.directory import RevocationBus, UserDirectory
from vitalwatch.auth.router import router as auth_router
from vitalwatch.auth.router import users_router
from vitalwatch.auth.security import HashPool
from vitalwatch.auth.throttle import LoginThrottle, MemoryThrottle, RedisThrottle, ThrottlePolicy
from vitalwatch.cluster.service import Cluster, LocalCluster
from vitalwatch.config import Settings, get_settings
from vitalwatch.context import AppContext
from vitalwatch.db import create_engine, create_sessionmaker
from vitalwatch.devices.router import router as devices_router
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.edge import EdgeMiddleware
from vitalwatch.errors import FHIR_CODES, DomainError, Invalid, error_body, validation_body
from vitalwatch.fhir.router import PREFIX as fhir_prefix
from vitalwatch.fhir.router import problem as fhir_problem
from vitalwatch.fhir.router import router as fhir_router
from vitalwatch.health.lag import watch_lag
from vitalwatch.health.router import router as health_router
from vitalwatch.hl7.listener import MllpServer
from vitalwatch.hl7.router import router as hl7_router
from vitalwatch.hl7.service import Hl7Ingest
from vitalwatch.housekeeping import Housekeeping
from vitalwatch.live.confirmations import Confirmations
from vitalwatch.live.hub import Hub
from vitalwatch.live.router import router as live_router
from vitalwatch.live.sockets import SocketRegistry
from vitalwatch.logging import configure_logging, get_logger
from vitalwatch.manual.router import router as manual_router
from vitalwatch.manual.router import station_router as manual_station_router
from vitalwatch.notify.outbox import Outbox
from vitalwatch.notify.router import router as notify_router
from vitalwatch.overview.deps import session_parts
from vitalwatch.patients.router import router as patients_router
from vitalwatch.readings import router as readings
from vitalwatch.readings.latest import LatestStore
from vitalwatch.records.router import router as records_router
from vitalwatch.records.watcher import RecordsWatcher
from vitalwatch.reports.router import router as reports_router
from vitalwatch.sdc.router import router as sdc_router
from vitalwatch.sdc.service import SdcConsumer
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
        # imported only in production mode: one process never loads the Redis cluster
        from vitalwatch.cluster.distributed import RedisCluster

        cluster = RedisCluster(settings, engine, maker, hub, latest, outbox)
    else:
        cluster = LocalCluster(settings, engine, maker, hub, latest, outbox)
    users = UserDirectory(maker, ttl_s=settings.user_cache_s)
    sockets = SocketRegistry(settings.ws_max_per_token)
    users.on_change(sockets.user_changed)
    policy = ThrottlePolicy(
        account_free=settings.login_account_attempts,
        address_free=settings.login_address_attempts,
        window_s=settings.login_window_s,
        max_delay_s=settings.login_max_delay_s,
    )
    throttle: LoginThrottle = MemoryThrottle(policy)
    revocations: RevocationBus | None = None
    if settings.redis_url:
        throttle = RedisThrottle(policy, settings.redis_url, settings.redis_prefix)
        revocations = RevocationBus(
            settings.redis_url, settings.redis_prefix, _revocation_handler(users, devices)
        )
        users.bus = revocations
        devices.bus = revocations
    return AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=maker,
        devices=devices,
        latest=latest,
        hub=hub,
        confirmations=Confirmations(maker, hub),
        cluster=cluster,
        hl7=Hl7Ingest(settings, maker, devices, cluster, hub),
        sdc=SdcConsumer(settings, maker, devices, cluster, hub) if settings.sdc_adapter else None,
        users=users,
        hashing=HashPool(
            settings.password_hash_workers,
            settings.password_hash_queue,
            settings.password_hash_duty,
        ),
        throttle=throttle,
        audit=AuditQueue(maker),
        sockets=sockets,
        revocations=revocations,
    )


def _revocation_handler(users: UserDirectory, devices: DeviceDirectory) -> Callable[[str], None]:
    """Another process revoked something: drop this process's cached answer."""

    def handle(message: str) -> None:
        kind, _, key = message.partition(":")
        if kind == "user" and key.isdigit():
            users.invalidate(int(key))
        elif kind == "device":
            devices.forget_token(key)

    return handle


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: AppContext = app.state.ctx
    housekeeping = Housekeeping(ctx.settings, ctx.sessionmaker, ctx.hub, ctx.devices)
    await ctx.hub.start()
    ctx.confirmations.start()
    await ctx.cluster.start()
    housekeeping.start()
    records_watcher = RecordsWatcher(ctx.sessionmaker, session_parts(ctx))
    records_watcher.start()
    mllp = await _start_mllp(ctx)
    if ctx.sdc is not None:
        await ctx.sdc.start()
    ctx.audit.start()
    if ctx.revocations is not None:
        ctx.revocations.start()
    lag = asyncio.create_task(watch_lag(), name="event-loop-lag")
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
        await records_watcher.stop()
        if mllp is not None:
            await mllp.stop()
        if ctx.sdc is not None:
            await ctx.sdc.stop()
        if ctx.hl7 is not None:
            await ctx.hl7.stop()
        lag.cancel()
        await ctx.cluster.stop()
        await housekeeping.stop()
        await ctx.confirmations.stop()
        await ctx.hub.stop()
        await ctx.audit.stop()
        if ctx.revocations is not None:
            await ctx.revocations.stop()
        await ctx.throttle.aclose()
        ctx.hashing.shutdown()
        await ctx.engine.dispose()
        log.info("service_stopped")


async def _start_mllp(ctx: AppContext) -> MllpServer | None:
    """HL7 v2 over MLLP, in this process, when VITALWATCH_MLLP_PORT is set."""
    assert ctx.hl7 is not None
    ctx.hl7.start()
    if ctx.settings.mllp_port is None:
        return None
    server = MllpServer(ctx.settings, ctx.hl7)
    await server.start()
    return server


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is locked by another process, full, restarting or away: a
    staff request is told to retry, as a device is (never a 500)."""
    log.warning("database_unavailable", error=type(exc).__name__, path=request.url.path)
    return JSONResponse(
        status_code=503,
        content={"detail": "The database is not available right now; try again in a moment"},
        headers={"Retry-After": "2"},
    )


def _under_fhir(request: Request) -> bool:
    path: str = request.scope.get("path", "")
    return path.removeprefix(request.scope.get("root_path", "")).startswith(fhir_prefix)


async def _refused(request: Request, exc: Exception) -> Response:
    """Every refused request, answered in one place: a domain's error
    (vitalwatch.errors) with its status, headers and wording, FastAPI's
    validation errors (422) and HTTP errors as FastAPI words them; under the
    FHIR routes each as an OperationOutcome (a validation error there is a 400)."""
    fhir = _under_fhir(request)
    if isinstance(exc, RequestValidationError):
        if fhir:
            return fhir_problem(400, "invalid", Invalid(list(exc.errors())).diagnostics())
        return JSONResponse(status_code=422, content=validation_body(exc.errors()))
    if isinstance(exc, StarletteHTTPException):
        if not fhir:
            return await http_exception_handler(request, exc)
        code = FHIR_CODES.get(exc.status_code, "processing")
        return fhir_problem(exc.status_code, code, [str(exc.detail)], exc.headers)
    assert isinstance(exc, DomainError)
    if fhir:
        return fhir_problem(exc.status, exc.fhir_code(), exc.diagnostics(), exc.headers)
    return JSONResponse(status_code=exc.status, content=error_body(exc), headers=exc.headers)


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
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    app.state.ctx = build_context(settings)
    app.add_middleware(EdgeMiddleware, ctx=app.state.ctx)
    for refusal in (RequestValidationError, StarletteHTTPException, DomainError):
        app.add_exception_handler(refusal, _refused)
    for unavailable in (OperationalError, InterfaceError, DisconnectionError, OSError):
        app.add_exception_handler(unavailable, _database_unavailable)
    for router in (
        health_router,
        auth_router,
        users_router,
        audit_router,
        devices_router,
        hl7_router,
        sdc_router,
        manual_router,
        manual_station_router,
        sessions_router,
        patients_router,
        records_router,
        fhir_router,
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
    # imported here: only the first request for /openapi.json needs it
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
