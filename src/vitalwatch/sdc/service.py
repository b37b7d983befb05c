"""The SDC consumer: providers found on the named adapter, bound by an admin,
one link per bound provider.

Off unless VITALWATCH_SDC_ADAPTER names an interface. Discovery only lists:
a provider reaches no session until an admin binds it to a device, and then
only through that device's binding to a session.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.audit import service as audit
from vitalwatch.config import Settings
from vitalwatch.db import on_commit, unit_of_work, utcnow
from vitalwatch.devices import repository as devices_repo
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.errors import Conflict, NotFound
from vitalwatch.hl7.mapping import load
from vitalwatch.hl7.monitor import MonitorReports
from vitalwatch.logging import get_logger
from vitalwatch.readings.ports import SampleSink
from vitalwatch.sdc import repository
from vitalwatch.sdc.mapping import Skip
from vitalwatch.sdc.models import SdcBinding
from vitalwatch.sdc.schemas import BindProvider, ProviderOut, SkippedOut
from vitalwatch.sessions.ports import LiveEvents
from vitalwatch.tasks import cancel_and_wait, every

if TYPE_CHECKING:  # sdc11073 is loaded only when the consumer starts
    from sdc11073.certloader import SSLContextContainer

    from vitalwatch.sdc.link import Link
    from vitalwatch.sdc.network import Discovery, Found

log = get_logger(__name__)

#: A probe this often finds providers that announced themselves before we listened.
PROBE_S = 20.0
_FLUSH_S = 2.0


class SdcOff(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "The SDC consumer is off on this server: set VITALWATCH_SDC_ADAPTER to the "
            "network interface the monitors are on"
        )


class SdcConsumer:
    def __init__(
        self,
        settings: Settings,
        maker: async_sessionmaker[AsyncSession],
        devices: DeviceDirectory,
        cluster: SampleSink,
        hub: LiveEvents,
    ) -> None:
        self._settings = settings
        self._maker = maker
        self._devices = devices
        self._cluster = cluster
        self._mapping = load()
        self._monitor = MonitorReports(maker, hub, devices, self._mapping)
        self._found: dict[str, Found] = {}
        self._links: dict[str, Link] = {}
        self._skipped: dict[tuple[str, str, str], tuple[str | None, int, datetime]] = {}
        self._discovery: Discovery | None = None
        self._tls: SSLContextContainer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._describing: dict[str, asyncio.Task[None]] = {}

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        adapter = self._settings.sdc_adapter
        if adapter is None:
            return
        from vitalwatch.sdc.network import Discovery, tls_contexts  # sdc11073: only when on

        self._tls = tls_contexts(self._settings.sdc_certs)
        loop = asyncio.get_running_loop()
        self._discovery = Discovery(
            adapter, self._settings.sdc_discovery_port, loop, self._hello, self._bye
        )
        await asyncio.to_thread(self._discovery.start)
        async with unit_of_work(self._maker) as db:
            bound = await repository.bindings(db)
        for epr, device_id in bound.items():
            self._link(epr, device_id)
        self._tasks = [
            asyncio.create_task(self._probe_now_and_every()),
            asyncio.create_task(every(_FLUSH_S, self.flush, log, "sdc_flush_failed")),
        ]
        log.info("sdc_consumer_started", adapter=adapter, bound=len(bound), tls=bool(self._tls))

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        for link in self._links.values():
            await link.stop()
        if self._discovery is not None:
            await asyncio.to_thread(self._discovery.stop)
        with contextlib.suppress(Exception):
            await self.flush()

    async def _probe(self) -> None:
        assert self._discovery is not None
        await asyncio.to_thread(self._discovery.probe)

    async def _probe_now_and_every(self) -> None:
        with contextlib.suppress(Exception):
            await self._probe()
        await every(PROBE_S, self._probe, log, "sdc_probe_failed")

    async def flush(self) -> None:
        counts, self._skipped = self._skipped, {}
        if counts:
            async with unit_of_work(self._maker) as db:
                await repository.add_skipped(db, counts)

    # -- discovery ----------------------------------------------------------------------

    def _hello(self, found: Found) -> None:
        known = self._found.get(found.epr)
        self._found[found.epr] = found
        if known is not None and known.manufacturer is not None and known.x_addrs == found.x_addrs:
            found.manufacturer, found.model = known.manufacturer, known.model
            found.serial, found.friendly_name = known.serial, known.friendly_name
        elif found.epr not in self._describing:
            task = asyncio.create_task(self._describe(found))
            self._describing[found.epr] = task
        link = self._links.get(found.epr)
        if link is not None:
            if known is not None and known.x_addrs != found.x_addrs:
                link.lost("announced again at another address (restarted)")
            link.appeared()

    async def _describe(self, found: Found) -> None:
        try:
            from vitalwatch.sdc.network import describe

            await asyncio.to_thread(describe, found, self._tls)
        except Exception as exc:  # listed all the same, without its metadata
            log.warning("sdc_metadata_failed", error=str(exc)[:200])
        finally:
            self._describing.pop(found.epr, None)
        now = self._found.get(found.epr)
        if now is not None and now is not found and now.x_addrs == found.x_addrs:
            now.manufacturer, now.model = found.manufacturer, found.model
            now.serial, now.friendly_name = found.serial, found.friendly_name

    def _bye(self, epr: str) -> None:
        self._found.pop(epr, None)
        link = self._links.get(epr)
        if link is not None:
            link.lost("bye")

    def _link(self, epr: str, device_id: int) -> None:
        from vitalwatch.sdc.link import Link

        assert self._discovery is not None
        link = Link(
            epr,
            device_id,
            self._discovery,
            self._maker,
            self._devices,
            self._cluster,
            self._monitor,
            self._mapping,
            int(self._settings.max_future_skew_s * 1000),
            self._note_skipped,
            self._tls,
        )
        self._links[epr] = link
        link.start()

    def _note_skipped(self, epr: str, skipped: list[Skip]) -> None:
        now = utcnow()
        for s in skipped:
            key = (epr, s.code[:64], s.reason[:120])
            old = self._skipped.get(key)
            self._skipped[key] = (s.metric, (old[1] if old else 0) + 1, now)

    # -- the API ------------------------------------------------------------------------

    def _require_on(self) -> None:
        if self._discovery is None:
            raise SdcOff()

    async def providers(self, db: AsyncSession) -> list[ProviderOut]:
        """Providers announced now and bound ones (online or not)."""
        self._require_on()
        await self.flush()
        bound = {b.epr: b for b in await repository.all_bindings(db)}
        skipped: dict[str, list[SkippedOut]] = {}
        for row in await repository.skipped(db):
            skipped.setdefault(row.epr, []).append(
                SkippedOut.model_validate(row, from_attributes=True)
            )
        return [
            self._view(epr, bound.get(epr), skipped.get(epr, []))
            for epr in sorted({*self._found, *bound})
        ]

    def _view(self, epr: str, binding: SdcBinding | None, skipped: list[SkippedOut]) -> ProviderOut:
        f, link = self._found.get(epr), self._links.get(epr)
        return ProviderOut(
            epr=epr,
            manufacturer=f.manufacturer if f else None,
            model=f.model if f else None,
            serial=f.serial if f else None,
            location=f.location if f else {},
            online=f is not None,
            connected=link is not None and link.connected,
            device_id=binding.device_id if binding else None,
            bound_at=binding.bound_at if binding else None,
            skipped=skipped,
        )

    async def bind(self, db: AsyncSession, body: BindProvider, actor: audit.Actor) -> ProviderOut:
        """An admin binds a provider found now to a monitor device (audited)."""
        self._require_on()
        found = self._found.get(body.epr)
        if found is None:
            raise NotFound(f"No SDC provider {body.epr} is announced on the network now")
        device = await devices_repo.by_id(db, body.device_id)
        if device is None or device.retired or device.kind != "monitor":
            raise NotFound(f"No monitor device {body.device_id}")
        if (taken := await repository.binding_of(db, body.epr)) is not None:
            raise Conflict(f"SDC provider {body.epr} is already bound to device {taken.device_id}")
        if (other := await repository.binding_of_device(db, device.id)) is not None:
            raise Conflict(f"Device {device.id} is already bound to SDC provider {other.epr}")
        binding = await repository.add_binding(db, body.epr, device.id, actor.name or "")
        await audit.record(
            db,
            actor=actor,
            action="sdc.bind",
            entity="device",
            entity_id=device.id,
            detail={
                "epr": body.epr,
                "manufacturer": found.manufacturer,
                "model": found.model,
                "serial": found.serial,
            },
        )

        async def connect() -> None:
            self._link(body.epr, device.id)

        on_commit(db, connect)
        return self._view(body.epr, binding, [])
