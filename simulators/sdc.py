"""An IEEE 11073 SDC vital-signs monitor for the simulators (sdc11073's provider side).

Its MDIB describes a bedside monitor as BICEPS does: one MDS, a VMD with an
ECG, a pulse oximetry, an NIBP, a respiration and a temperature channel, each
numeric metric with its MDC code and MDC unit, and an alert system with the
monitor's own alert conditions (its limits, a probe off) and their signals.
It announces itself by WS-Discovery on the named adapter, serves its MDIB and
sends episodic metric and alert reports to subscribers; the values come from
the same physiology and scenarios as the JSON and HL7 monitors.

Run one (a separate process, so a test can SIGKILL it):

    python -m simulators.sdc --adapter lo --serial SIM-1 --scenario desaturation

Lines of JSON on stdin change what it reports: `{"values": {"spo2": 85}}`
holds SpO2 at 85 (`null` gives it back to the physiology), `{"absent":
["spo2"]}` reports it without a value (a probe off), `{"validity": {"spo2":
"Qst"}}` marks it questionable, `{"bye": true}` sends bye and exits. It
prints `ready <epr>` once it is discoverable.

With `--driven` it has no physiology of its own: it sends a report when told,
`{"report": {"hr": 80, "spo2": null}, "ts": 1700000000.0}` (a null: no value,
the probe is off), and its own alerts follow those values (the demo's SDC
rooms, simulators.sdc_room, drive it from the runner's patient).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sdc11073.xml_types import pm_types

from simulators.hl7 import MONITOR_LIMITS
from simulators.physiology import Patient
from simulators.scenarios import for_patient

#: handle -> (MDC code, reference id, MDC unit code, unit reference id, metric)
METRICS: dict[str, tuple[str, str, str, str, str]] = {
    "hr.ecg": ("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN", "hr"),
    "pr.spo2": ("149530", "MDC_PULS_OXIM_PULS_RATE", "264864", "MDC_DIM_BEAT_PER_MIN", "hr"),
    "spo2": ("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT", "spo2"),
    "nibp.sys": ("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016", "MDC_DIM_MMHG", "sbp"),
    "nibp.dia": ("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016", "MDC_DIM_MMHG", "dbp"),
    "nibp.mean": ("150023", "MDC_PRESS_BLD_NONINV_MEAN", "266016", "MDC_DIM_MMHG", "map"),
    "rr": ("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN", "rr"),
    "temp": ("150364", "MDC_TEMP_BODY", "268192", "MDC_DIM_DEGC", "temp"),
}
KPA = ("265987", "MDC_DIM_KILO_PASCAL")
MMHG_PER_KPA = 7.500617
_CHANNELS = {
    "ecg": ("131328", "MDC_DEV_ECG_CHAN", ("hr.ecg",)),
    "spo2": ("131212", "MDC_DEV_PULS_OXIM_CHAN", ("spo2", "pr.spo2")),
    "nibp": ("131048", "MDC_DEV_PRESS_BLD_NONINV_CHAN", ("nibp.sys", "nibp.dia", "nibp.mean")),
    "resp": ("131216", "MDC_DEV_RESP_CHAN", ("rr",)),
    "temp": ("131312", "MDC_DEV_TEMP_CHAN", ("temp",)),
}
#: The monitor's own alert conditions: handle -> (event code, label, kind, priority, source).
ALERTS: dict[str, tuple[str, str, str, str, str]] = {
    "ac.spo2.lo": ("196652", "*** Desat", "Phy", "Hi", "spo2"),
    "ac.hr.hi": ("196648", "** HR High", "Phy", "Me", "hr.ecg"),
    "ac.hr.lo": ("196652", "** HR Low", "Phy", "Me", "hr.ecg"),
    "ac.rr.hi": ("196648", "** RR High", "Phy", "Me", "rr"),
    "ac.rr.lo": ("196652", "** RR Low", "Phy", "Me", "rr"),
    "ac.spo2.off": ("196680", "!! SpO2 Probe Off", "Tec", "Lo", "spo2"),
}
_LIMIT_ALERTS = {
    ("spo2", "<"): "ac.spo2.lo",
    ("hr", ">"): "ac.hr.hi",
    ("hr", "<"): "ac.hr.lo",
    ("rr", ">"): "ac.rr.hi",
    ("rr", "<"): "ac.rr.lo",
}

_NS = (
    'xmlns:msg="http://standards.ieee.org/downloads/11073/11073-10207-2017/message" '
    'xmlns:pm="http://standards.ieee.org/downloads/11073/11073-10207-2017/participant" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def _code(tag: str, code: str, text: str) -> str:
    return (
        f'<pm:{tag} Code="{code}"><pm:ConceptDescription Lang="en-US">{text}'
        f"</pm:ConceptDescription></pm:{tag}>"
    )


def mdib_xml(kpa: bool = False) -> bytes:
    """The monitor's MDIB (descriptors only: the library makes the initial states).
    `kpa`: NIBP in kPa, as some European monitors send it."""
    channels = []
    for handle, (code, ref, chan) in _CHANNELS.items():
        metrics = []
        for m in chan:
            mcode, mref, ucode, uref, _ = METRICS[m]
            if kpa and m.startswith("nibp."):
                ucode, uref = KPA
            metrics.append(
                f'<pm:Metric xsi:type="pm:NumericMetricDescriptor" Handle="{m}" '
                f'MetricCategory="Msrmt" MetricAvailability="'
                f'{"Intr" if m.startswith("nibp.") else "Cont"}" Resolution="0.1">'
                f"{_code('Type', mcode, mref)}{_code('Unit', ucode, uref)}</pm:Metric>"
            )
        channels.append(
            f'<pm:Channel Handle="ch.{handle}">{_code("Type", code, ref)}{"".join(metrics)}'
            "</pm:Channel>"
        )
    conditions = []
    for handle, (code, label, kind, priority, source) in ALERTS.items():
        conditions.append(
            f'<pm:AlertCondition xsi:type="pm:AlertConditionDescriptor" Handle="{handle}" '
            f'Kind="{kind}" Priority="{priority}">{_code("Type", code, label)}'
            f"<pm:Source>{source}</pm:Source></pm:AlertCondition>"
        )
    signals = [
        f'<pm:AlertSignal Handle="{h}.sig" ConditionSignaled="{h}" Manifestation="Aud" '
        'Latching="false"/>'
        for h in ALERTS
    ]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><msg:GetMdibResponse {_NS} '
        'SequenceId="urn:uuid:00000000-0000-0000-0000-000000000000">'
        '<msg:Mdib SequenceId="urn:uuid:00000000-0000-0000-0000-000000000000">'
        "<pm:MdDescription>"
        f'<pm:Mds Handle="mds0">{_code("Type", "69650", "MDC_DEV_ANALY_SAT_O2_MDS")}'
        f'<pm:AlertSystem Handle="asy.mds0" SelfCheckPeriod="PT5S">{"".join(conditions)}'
        f"{''.join(signals)}</pm:AlertSystem>"
        '<pm:SystemContext Handle="sc.mds0"><pm:PatientContext Handle="pc.mds0"/>'
        '<pm:LocationContext Handle="lc.mds0"/></pm:SystemContext>'
        f'<pm:Vmd Handle="vmd0">{_code("Type", "69642", "MDC_DEV_ANALY_SAT_O2_VMD")}'
        f"{''.join(channels)}</pm:Vmd></pm:Mds></pm:MdDescription></msg:Mdib>"
        "</msg:GetMdibResponse>"
    ).encode()


def epr_for(serial: str) -> str:
    """A stable EPR per serial number, so a restarted monitor is the same provider."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"vitalwatch-sim-sdc:{serial}").urn


@dataclass
class SdcMonitor:
    """One simulated SDC monitor (its own discovery, HTTP server and MDIB)."""

    adapter: str = "lo"
    serial: str = "SIM-SDC-1"
    manufacturer: str = "VitalWatch Simulators"
    model: str = "VW-SDC Vital Signs Monitor"
    facility: str = "VW"
    poc: str = "KETAMINE"
    room: str = ""
    bed: str = "1"
    kpa: bool = False
    discovery_port: int = 3702
    certs: str | None = None  # a folder of sdc11073's usercert/userkey/cacert.pem: TLS
    active: set[str] = field(default_factory=set)
    _provider: Any = None
    _discovery: Any = None

    @property
    def epr(self) -> str:
        return epr_for(self.serial)

    def start(self) -> None:
        from sdc11073.location import SdcLocation
        from sdc11073.mdib import ProviderMdib
        from sdc11073.provider import SdcProvider
        from sdc11073.wsdiscovery import WSDiscoverySingleAdapter
        from sdc11073.xml_types.dpws_types import ThisDeviceType, ThisModelType

        self._discovery = WSDiscoverySingleAdapter(self.adapter, multicast_port=self.discovery_port)
        self._discovery.start()
        mdib = ProviderMdib.from_string(mdib_xml(self.kpa))
        model = ThisModelType(
            manufacturer=self.manufacturer,
            manufacturer_url="https://example.org/vitalwatch",
            model_name=self.model,
            model_number="1",
            model_url="https://example.org/vitalwatch/sdc",
            presentation_url="https://example.org/vitalwatch/sdc",
        )
        device = ThisDeviceType(
            friendly_name=f"{self.model} {self.serial}",
            firmware_version="1.0",
            serial_number=self.serial,
        )
        tls = None
        if self.certs is not None:
            from sdc11073.certloader import mk_ssl_contexts_from_folder

            tls = mk_ssl_contexts_from_folder(self.certs)
        self._provider = SdcProvider(
            ws_discovery=self._discovery,
            ssl_context_container=tls,
            this_model=model,
            this_device=device,
            device_mdib_container=mdib,
            epr=self.epr,
            max_subscription_duration=15,
        )
        self._provider.start_all(start_rtsample_loop=False)
        location = SdcLocation(fac=self.facility, poc=self.poc, rm=self.room or None, bed=self.bed)
        self._provider.set_location(location)

    def stop(self, bye: bool = True) -> None:
        if self._provider is not None:
            self._provider.stop_all(send_subscription_end=bye)
        if self._discovery is not None:
            self._discovery.stop()

    def report(self, values: dict[str, float | None], ts: float, validity: dict[str, str]) -> None:
        """One episodic metric report: each metric in `values` measured at `ts`
        (a None value: the metric has no value, e.g. the probe is off)."""
        mdib = self._provider.mdib
        with mdib.metric_state_transaction(set_determination_time=False) as tr:
            for handle, (*_, metric) in METRICS.items():
                if metric not in values:
                    continue
                state = tr.get_state(handle)
                value = values[metric]
                if value is not None and self.kpa and handle.startswith("nibp."):
                    value = round(value / MMHG_PER_KPA, 2)
                if state.MetricValue is None:
                    state.mk_metric_value()
                mv = state.MetricValue
                mv.Value = None if value is None else Decimal(str(value))
                mv.DeterminationTime = ts
                quality = validity.get(metric, "Vld" if value is not None else "NA")
                mv.MetricQuality.Validity = pm_types.MeasurementValidity(quality)

    def alert(self, handle: str, present: bool, ts: float) -> None:
        """The monitor's own alert condition `handle` starts or ends (its signal with it)."""
        if present == (handle in self.active):
            return
        (self.active.add if present else self.active.discard)(handle)
        with self._provider.mdib.alert_state_transaction() as tr:
            cond = tr.get_state(handle)
            cond.ActivationState = pm_types.AlertActivation.ON
            cond.Presence = present
            cond.DeterminationTime = ts
            sig = tr.get_state(f"{handle}.sig")
            sig.ActivationState = pm_types.AlertActivation.ON
            sig.Presence = (
                pm_types.AlertSignalPresence.ON if present else pm_types.AlertSignalPresence.OFF
            )

    def own_alerts(self, values: dict[str, float | None], ts: float) -> None:
        """The monitor's limits (the same as the HL7 monitor's), and a probe off."""
        for metric, op, limit, _label, _priority in MONITOR_LIMITS:
            v = values.get(metric)
            if v is None:
                continue
            self.alert(_LIMIT_ALERTS[(metric, op)], v < limit if op == "<" else v > limit, ts)
        if "spo2" in values:
            self.alert("ac.spo2.off", values["spo2"] is None, ts)


def _physiology(values: dict[str, float]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    if "hr" in values:
        out["hr"] = values["hr"]
    for m in ("spo2", "rr", "sbp", "dbp", "map"):
        if m in values:
            out[m] = values[m]
    return out


def run(args: argparse.Namespace) -> None:
    monitor = SdcMonitor(
        adapter=args.adapter,
        serial=args.serial,
        bed=args.bed,
        room=args.room,
        kpa=args.kpa,
        discovery_port=args.discovery_port,
        certs=args.certs,
    )
    patient = Patient(args.protocol, for_patient(args.scenario, args.index), seed=args.seed)
    held: dict[str, float | None] = {}
    validity: dict[str, str] = {}
    stop = threading.Event()

    def commands() -> None:
        for line in sys.stdin:
            if line.strip():
                apply(json.loads(line))
        if args.exit_on_eof:
            stop.set()

    def apply(cmd: dict[str, Any]) -> None:
        for k, v in (cmd.get("values") or {}).items():
            if v is None:
                held.pop(k, None)  # back to the physiology
            else:
                held[k] = v
        for k in cmd.get("absent") or []:  # a probe off: the metric reports no value
            held[k] = None
        for k, v in (cmd.get("validity") or {}).items():
            if v is None:
                validity.pop(k, None)
            else:
                validity[k] = v
        if "report" in cmd:
            report(cmd["report"], float(cmd.get("ts") or time.time()))
        if cmd.get("bye"):
            stop.set()

    lock = threading.Lock()  # the reading thread and the main loop both report

    def report(values: dict[str, float | None], ts: float) -> None:
        with lock:
            monitor.report(values, ts, validity)
            monitor.own_alerts(values, ts)

    monitor.start()
    print(f"ready {monitor.epr}", flush=True)
    threading.Thread(target=commands, daemon=True).start()
    t = args.start_s
    next_at = time.monotonic()
    try:
        while not stop.is_set():
            if args.driven:
                stop.wait(1.0)
                continue
            now = time.time()
            values = _physiology(patient.sample(t))
            values.update(held)
            values["temp"] = 36.8
            report(values, now)
            t += 1
            next_at += args.interval
            stop.wait(max(0.0, next_at - time.monotonic()))
    finally:
        monitor.stop(bye=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", default="lo", help="network interface to announce on")
    p.add_argument("--serial", default="SIM-SDC-1")
    p.add_argument("--bed", default="1")
    p.add_argument("--room", default="")
    p.add_argument("--protocol", default="ketamine-iv")
    p.add_argument("--scenario", default="calm")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start-s", type=float, default=0.0, help="simulated seconds into the session")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between metric reports")
    p.add_argument("--kpa", action="store_true", help="NIBP in kPa")
    p.add_argument("--discovery-port", type=int, default=3702)
    p.add_argument("--exit-on-eof", action="store_true", help="stop when stdin closes")
    p.add_argument("--driven", action="store_true", help="report only what stdin says")
    p.add_argument("--certs", help="TLS: a folder with usercert.pem, userkey.pem, cacert.pem")
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
