"""One bound provider's link: connect, take its reports, notice when it is gone,
reconnect.

Metric values go the durable path of every way in (readings.service.submit:
the partition's group commit, the same validation of time and binding, the
same alarm evaluation); the provider's own alert conditions become monitor
alarms as HL7 ORU^R40 ones do (hl7.monitor.MonitorReports). A provider that
says bye, whose subscription ends or is not renewed, or whose reports stop is
dropped and connected again when it is back (its MDIB read anew); meanwhile
its samples stop, and the session's technical alarms ("Monitor offline") follow
from the same rules as for any monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sdc11073.certloader import SSLContextContainer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.db import unit_of_work
from vitalwatch.devices import repository as devices_repo
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.hl7.extract import AlarmReport
from vitalwatch.hl7.mapping import Mapping
from vitalwatch.hl7.monitor import Hl7Device, MonitorReports
from vitalwatch.logging import get_logger
from vitalwatch.readings.ports import SampleSink
from vitalwatch.readings.service import submit
from vitalwatch.readings.writer import DeviceNotBound, IngestUnavailable
from vitalwatch.sdc.mapping import Memory, Skip, to_samples
from vitalwatch.sdc.network import Connection, Discovery
from vitalwatch.sdc.states import Alert, Reading

log = get_logger(__name__)

#: No metric report for this long: the connection is taken as lost (a hung
#: provider; one that is gone fails its subscription renewal sooner). As long
#: as "Monitor offline": a monitor that only measures NIBP now and then is
#: not reconnected between its cuff readings.
SILENCE_S = 60.0
_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class Link:
    def __init__(
        self,
        epr: str,
        device_id: int,
        discovery: Discovery,
        maker: async_sessionmaker[AsyncSession],
        devices: DeviceDirectory,
        cluster: SampleSink,
        monitor: MonitorReports,
        mapping: Mapping,
        future_ms: int,
        note_skipped: Callable[[str, list[Skip]], None],
        tls: SSLContextContainer | None = None,
    ) -> None:
        self.epr = epr
        self._tls = tls
        self.device_id = device_id
        self._discovery = discovery
        self._maker = maker
        self._devices = devices
        self._cluster = cluster
        self._monitor = monitor
        self._mapping = mapping
        self._future_ms = future_ms
        self._note_skipped = note_skipped
        self._memory = Memory()
        self._alerts: dict[str, bool] = {}  # condition handle -> present, as last stored
        self._queue: asyncio.Queue[tuple[str, list[Reading] | list[Alert]]] = asyncio.Queue()
        self._lost = asyncio.Event()
        self._appeared = asyncio.Event()
        self._last_report = time.monotonic()
        self.connected = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"sdc-link-{self.device_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def appeared(self) -> None:
        """Hello or probe match from this provider."""
        self._appeared.set()

    def lost(self, reason: str) -> None:
        """Bye, subscription end or failed renewal, a restarted MDIB."""
        if self.connected:
            log.info("sdc_link_lost", device_id=self.device_id, reason=reason)
        self._lost.set()

    # -- the connection loop -------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            service = self._discovery.service(self.epr)
            if service is None:
                self._appeared.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._appeared.wait(), 5.0)
                continue
            conn = Connection(service, self._tls, loop, self._readings, self._alerts_in, self.lost)
            self._lost.clear()
            try:
                readings, alerts = await asyncio.to_thread(conn.open)
            except Exception as exc:  # refused, reset, timed out, not SDC: try again
                log.warning("sdc_connect_failed", device_id=self.device_id, error=str(exc)[:200])
                await asyncio.to_thread(conn.close)
                await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            self.connected = True
            self._last_report = time.monotonic()
            log.info("sdc_link_up", device_id=self.device_id, sequence_id=conn.sequence_id)
            worker = asyncio.create_task(self._work(), name=f"sdc-reports-{self.device_id}")
            self._readings(readings)
            self._alerts_in(alerts)
            try:
                await self._watch()
            finally:
                self.connected = False
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                await asyncio.to_thread(conn.close)

    async def _watch(self) -> None:
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), 1.0)
            if time.monotonic() - self._last_report > SILENCE_S:
                self.lost(f"no metric report for {SILENCE_S:g} s")

    def _readings(self, readings: list[Reading]) -> None:
        self._last_report = time.monotonic()
        self._queue.put_nowait(("readings", readings))

    def _alerts_in(self, alerts: list[Alert]) -> None:
        self._queue.put_nowait(("alerts", alerts))

    async def _work(self) -> None:
        """The reports in the order they came, one at a time."""
        while True:
            kind, items = await self._queue.get()
            try:
                if kind == "readings":
                    await self._take_readings(items)  # type: ignore[arg-type]
                else:
                    await self._take_alerts(items)  # type: ignore[arg-type]
            except Exception:
                log.exception("sdc_report_failed", device_id=self.device_id, kind=kind)

    # -- metric values -------------------------------------------------------------------

    async def _take_readings(self, readings: list[Reading]) -> None:
        got = to_samples(readings, self._mapping, self._memory, self._future_ms)
        if got.skipped:
            self._note_skipped(self.epr, got.skipped)
        if got.columns is not None:
            for attempt, delay in enumerate((*_RETRY_S, None)):
                try:
                    await submit(self._cluster, self._devices, self.device_id, got.columns)
                    break
                except DeviceNotBound:
                    break  # no active session with this device: nothing stored
                except IngestUnavailable:
                    if delay is None:
                        log.warning("sdc_not_stored_database", device_id=self.device_id)
                        return  # not taken: the MDIB read at the next connection has them
                    await asyncio.sleep(delay * (attempt + 1))
        self._memory.taken.update(got.taken)
        self._memory.values.update(got.values)

    # -- the monitor's own alerts --------------------------------------------------------

    async def _take_alerts(self, alerts: list[Alert]) -> None:
        # an alert never seen present is not news (the MDIB read lists every condition)
        changed = [a for a in alerts if self._alerts.get(a.handle, False) != a.present]
        if not changed:
            return
        async with unit_of_work(self._maker) as db:
            session_id = await devices_repo.session_of(db, self.device_id)
            device = await devices_repo.by_id(db, self.device_id)
        if session_id is None or device is None:
            return  # shown to nobody: not stored (as an ORU^R40 without a session)
        reports = [self._report(a) for a in changed]
        await self._monitor.store(
            Hl7Device(device.id, device.name, UTC), session_id, "SDC", reports
        )
        for a in changed:
            self._alerts[a.handle] = a.present

    def _report(self, alert: Alert) -> AlarmReport:
        rule = self._mapping.rule(alert.source_code or "", "", "MDC")
        metric = rule.metric if rule is not None else None
        ts_ms = alert.ts_ms or int(time.time() * 1000)
        when = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
        return AlarmReport(
            code=f"{alert.code}:{alert.handle}"[:64],
            label=alert.label,
            priority=alert.priority,
            kind=alert.kind,
            phase="start" if alert.present else "end",
            state="active" if alert.present else "inactive",
            time=when.strftime("%Y%m%d%H%M%S.") + f"{when.microsecond // 1000:03d}+0000",
            metric=metric,
            source=alert.source,
            value=self._memory.values.get(metric) if metric else None,
        )
