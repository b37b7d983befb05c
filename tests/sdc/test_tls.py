"""SDC over TLS (VITALWATCH_SDC_CERTS): certificates made by the test, a CA
signing the consumer's and the provider's. A provider with a certificate of
that CA is described, bound and read over TLS; one serving plain HTTP, or
with a certificate of another CA, is listed as announced but never read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sdc.certs import issue, make_ca
from tests.sdc.conftest import StartProvider, bind, found
from tests.sdc.test_consumer import series
from tests.support import ADMIN, Api, ServerProcess, wait_for
from vitalwatch.config import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sdc-certs")
    ca = make_ca(root / "ca", "VitalWatch test clinic CA")
    other = make_ca(root / "other-ca", "Somebody else's CA")
    return {
        "consumer": issue(ca, root / "consumer", "vitalwatch"),
        "provider": issue(ca, root / "provider", "monitor"),
        "stranger": issue(other, root / "stranger", "monitor"),
    }


@pytest.fixture(scope="module")
def sdc_env(certs: dict[str, Path]) -> dict[str, str]:
    return {"VITALWATCH_SDC_CERTS": str(certs["consumer"])}


async def test_a_provider_of_the_clinics_ca_is_read_over_tls(
    sdc_api: Api, certs: dict[str, Path], start_provider: StartProvider
) -> None:
    p = start_provider("SDC-TLS", "--certs", str(certs["provider"]))
    listed = await found(sdc_api, p.epr)  # its metadata read over TLS
    assert listed["serial"] == "SDC-TLS"
    device, session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])
    assert await wait_for(lambda: series(sdc_api, session["id"], "spo2"), timeout=30)


@pytest.mark.parametrize("who", ["plain", "stranger"])
async def test_a_plain_or_foreign_provider_is_never_read(
    who: str,
    sdc_api: Api,
    sdc_server: ServerProcess,
    certs: dict[str, Path],
    start_provider: StartProvider,
) -> None:
    extra = () if who == "plain" else ("--certs", str(certs["stranger"]))
    p = start_provider(f"SDC-{who.upper()}", *extra)

    async def announced() -> dict[str, object] | None:
        r = await sdc_api.http.get("/api/v1/sdc/providers", headers=await sdc_api.auth(ADMIN))
        return next((x for x in r.json() if x["epr"] == p.epr), None)

    await wait_for(announced, timeout=30, interval=0.25)
    device, session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])

    def attempts() -> int:
        return sum(
            1
            for line in sdc_server.log_text().splitlines()
            if "sdc_connect_failed" in line and f'"device_id": {device["id"]}' in line
        )

    async def tried_twice() -> bool:  # the consumer tried, and tried again
        return attempts() >= 2

    await wait_for(tried_twice, timeout=30, interval=0.25)
    assert await series(sdc_api, session["id"], "spo2") == []
    listed = await announced()
    assert listed is not None and listed["connected"] is False
    assert listed["manufacturer"] is None  # nothing read from it, not even its metadata


def test_a_certificate_folder_missing_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "usercert.pem").write_text("")
    with pytest.raises(ValueError, match=r"lacks userkey\.pem, cacert\.pem"):
        Settings(sdc_adapter="lo", sdc_certs=str(tmp_path))
