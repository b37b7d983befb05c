"""The simulators document their sessions: checklist, dose details, observations,
infusion stop and, once the service says ready, the discharge sign-off."""

from __future__ import annotations

from simulators.runner import Simulation, SimulationConfig

from tests.support import ADMIN, Api, ServerProcess


async def test_simulated_ward_goes_through_every_stage(api: Api, server: ServerProcess) -> None:
    sim = Simulation(
        SimulationConfig(
            url=server.url,
            user=ADMIN[0],
            password=ADMIN[1],
            patients=3,
            scenario="calm",
            speed=600,
            seed=3,
            duration_min=150,
        )
    )  # speed > 1: the simulated clock starts 150 min ago, played here as fast as it goes
    try:
        await sim.setup()
        while sim.sim_t < 150 * 60:
            await sim.step(sim.sim_t + 60)
        h = await api.auth()
        for room in sim.rooms:
            sid = room.session_id
            assert sid is not None
            checklist = (await api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=h)).json()
            assert all(i["by"] == ADMIN[0] for i in checklist["items"] if i["kind"] == "check")
            events = (await api.http.get(f"/api/v1/sessions/{sid}/events", headers=h)).json()
            dose = next(e["dose"] for e in events if e["kind"] == "dose")
            assert dose["lot_number"] == "SIM-LOT-1" and dose["amount"] is not None
            if room.device.patient.protocol == "ketamine-iv":
                assert dose["infusion_stop"] is not None
            observations = (
                await api.http.get(f"/api/v1/sessions/{sid}/observations", headers=h)
            ).json()
            assert len(observations) >= 9 and observations[-1]["moass"] == 5
            readiness = (await api.http.get(f"/api/v1/sessions/{sid}/readiness", headers=h)).json()
            assert readiness["signed_off_by"] == ADMIN[0], readiness
            assert readiness["left_with"] == "Family member (simulated)"
    finally:
        await sim.end()
        await sim.close()
