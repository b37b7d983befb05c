"""The sdc11073 side of the consumer: WS-Discovery, and one connection (metadata,
MDIB, subscriptions) per bound provider.

sdc11073 runs on threads of its own; nothing of it crosses into the event loop:
its callbacks turn states into plain `Reading`/`Alert` values right where they
fire and hand them over with `call_soon_threadsafe`. Blocking calls (probe,
connect, GetMdib) run in worker threads (`asyncio.to_thread`).

With certificates (`tls`, from VITALWATCH_SDC_CERTS) every connection is TLS
with client certificates both ways (the consumer's requests and the
provider's notifications to the consumer's own server), and only TLS: a
provider serving plain HTTP is not described and not connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from sdc11073 import observableproperties
from sdc11073.certloader import SSLContextContainer, mk_ssl_contexts_from_folder
from sdc11073.consumer.consumerimpl import SdcConsumer
from sdc11073.definitions_sdc import SdcV1Definitions
from sdc11073.mdib import ConsumerMdib
from sdc11073.wsdiscovery import WSDiscoverySingleAdapter
from sdc11073.wsdiscovery.service import Service
from sdc11073.xml_types import mex_types
from sdc11073.xml_types.actions import periodic_actions

from vitalwatch.sdc.states import Alert, Reading, alert_of, reading_of

T = TypeVar("T")

#: sdc11073 logs every message at INFO; its warnings are enough here.
logging.getLogger("sdc").setLevel(logging.WARNING)

_LOCATION_KEYS = {"fac": "facility", "bldng": "building", "flr": "floor", "poc": "poc"}
_LOCATION_KEYS |= {"rm": "room", "bed": "bed"}


@dataclass
class Found:
    """A provider as discovery and its metadata describe it (no patient data)."""

    epr: str
    x_addrs: list[str]
    location: dict[str, str] = field(default_factory=dict)
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    friendly_name: str | None = None


def location_of(service: Service) -> dict[str, str]:
    """The location context a provider announces in its scopes (sdc.ctxt.loc)."""
    scopes = service.scopes.text if service.scopes is not None else []
    for scope in scopes or []:
        if str(scope).startswith("sdc.ctxt.loc:"):
            query = dict(parse_qsl(urlsplit(str(scope)).query))
            return {_LOCATION_KEYS[k]: v for k, v in query.items() if k in _LOCATION_KEYS and v}
    return {}


def _text(values: Any) -> str | None:
    for v in values or []:
        return str(v.text)
    return None


def tls_contexts(folder: str | None) -> SSLContextContainer | None:
    """The TLS contexts of VITALWATCH_SDC_CERTS (the CA required of the peer)."""
    return None if folder is None else mk_ssl_contexts_from_folder(folder)


def _consumer(address: str, tls: SSLContextContainer | None) -> SdcConsumer:
    return SdcConsumer(
        address, SdcV1Definitions, ssl_context_container=tls, force_ssl_connect=tls is not None
    )


def describe(found: Found, tls: SSLContextContainer | None) -> None:
    """Manufacturer, model and serial number from the provider's metadata (blocking)."""
    client = _consumer(found.x_addrs[0], tls)
    try:
        got = client.transfer_get()
        if got is None:
            raise ConnectionError("no metadata in the provider's answer")
        meta = mex_types.Metadata.from_node(got.p_msg.body_node)
    finally:
        for soap in list(getattr(client, "_soap_clients", {}).values()):
            with contextlib.suppress(Exception):
                soap.close()
    if meta.this_model is not None:
        found.manufacturer = _text(meta.this_model.Manufacturer)
        found.model = _text(meta.this_model.ModelName)
    if meta.this_device is not None:
        found.serial = meta.this_device.SerialNumber
        found.friendly_name = _text(meta.this_device.FriendlyName)


class Discovery:
    """WS-Discovery on one adapter: hello, bye and probe matches, told to the loop."""

    def __init__(
        self,
        adapter: str,
        port: int,
        loop: asyncio.AbstractEventLoop,
        on_hello: Callable[[Found], None],
        on_bye: Callable[[str], None],
    ) -> None:
        self._wsd = WSDiscoverySingleAdapter(adapter, multicast_port=port)
        self._loop = loop
        self._on_hello = on_hello
        self._on_bye = on_bye
        self._services: dict[str, Service] = {}

    def start(self) -> None:
        self._wsd.set_remote_service_hello_callback(self._hello)
        self._wsd.set_remote_service_bye_callback(self._bye)
        self._wsd.set_on_probe_matches_callback(self._matches)
        self._wsd.start()

    def stop(self) -> None:
        self._wsd.stop()

    def probe(self) -> None:
        """Ask the network who is there (blocking, about a second)."""
        self._wsd.search_services(
            types=SdcV1Definitions.MedicalDeviceTypesFilter, timeout=1, repeat_probe_interval=1
        )

    def service(self, epr: str) -> Service | None:
        return self._services.get(epr)

    def _found(self, service: Service) -> None:
        if not service.x_addrs:
            return
        self._services[service.epr] = service
        found = Found(service.epr, list(service.x_addrs), location_of(service))
        self._loop.call_soon_threadsafe(self._on_hello, found)

    def _hello(self, _addr: str, service: Service) -> None:
        self._found(service)

    def _matches(self, services: Any) -> None:
        for service in services:
            self._found(service)

    def _bye(self, _addr: str, epr: str) -> None:
        self._services.pop(epr, None)
        self._loop.call_soon_threadsafe(self._on_bye, epr)


class Connection:
    """One bound provider: subscribed to episodic metric and alert reports (no
    waveforms, no periodic reports), its MDIB mirrored by sdc11073."""

    def __init__(
        self,
        service: Service,
        tls: SSLContextContainer | None,
        loop: asyncio.AbstractEventLoop,
        on_readings: Callable[[list[Reading]], None],
        on_alerts: Callable[[list[Alert]], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self._service = service
        self._tls = tls
        self._loop = loop
        self._on_readings = on_readings
        self._on_alerts = on_alerts
        self._on_lost = on_lost
        self._client: SdcConsumer | None = None
        self._mdib: ConsumerMdib | None = None
        self.sequence_id: str | None = None

    def open(self) -> tuple[list[Reading], list[Alert]]:
        """Connect, subscribe, read the MDIB (blocking); the current states."""
        if not self._service.x_addrs:
            raise ConnectionError("the provider announced no address")
        client = _consumer(self._service.x_addrs[0], self._tls)
        self._client = client
        not_subscribed = [*periodic_actions, *_waveform_actions()]
        client.start_all(not_subscribed_actions=not_subscribed)
        mdib = ConsumerMdib(client)
        mdib.init_mdib()
        self._mdib = mdib
        self.sequence_id = str(mdib.sequence_id)
        observableproperties.bind(mdib, metrics_by_handle=self._metrics)
        observableproperties.bind(mdib, alert_by_handle=self._alerts)
        observableproperties.bind(client, is_connected=self._connected)
        observableproperties.bind(mdib, sequence_or_instance_id_changed_event=self._restarted)
        readings = [r for st in mdib.states.objects if (r := reading_of(mdib, st)) is not None]
        alerts = [a for st in mdib.states.objects if (a := alert_of(mdib, st)) is not None]
        return readings, alerts

    def close(self) -> None:
        """Unsubscribe if the provider is still there (blocking)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.stop_all(unsubscribe=True)

    def _metrics(self, states: dict[str, Any]) -> None:
        self._hand_over(states, reading_of, self._on_readings)

    def _alerts(self, states: dict[str, Any]) -> None:
        self._hand_over(states, alert_of, self._on_alerts)

    def _hand_over(
        self,
        states: dict[str, Any],
        read: Callable[[Any, Any], T | None],
        deliver: Callable[[list[T]], None],
    ) -> None:
        """The states of a report as plain values, to the loop (on sdc11073's thread)."""
        mdib = self._mdib
        if mdib is None:
            return
        got = [v for st in states.values() if (v := read(mdib, st)) is not None]
        if got:
            self._loop.call_soon_threadsafe(deliver, got)

    def _connected(self, connected: bool) -> None:
        if not connected:
            self._loop.call_soon_threadsafe(self._on_lost, "subscription ended or not renewed")

    def _restarted(self, changed: bool) -> None:
        if changed:
            self._loop.call_soon_threadsafe(self._on_lost, "the provider's MDIB changed")


def _waveform_actions() -> list[str]:
    from sdc11073.xml_types.actions import Actions

    return [Actions.Waveform]
