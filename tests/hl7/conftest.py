"""A server with its MLLP listener, per backend, for the HL7 tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.backends import new_database_url
from tests.support import Api, ServerProcess, mllp_server


@pytest.fixture(scope="module")
def hl7_env() -> dict[str, str]:
    """Settings of the module's server beyond the defaults (a module overrides it)."""
    return {}


@pytest.fixture(scope="module")
def hl7_server(
    backend: str, hl7_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"hl7-{backend}")
    proc = mllp_server(workdir, new_database_url(backend, workdir), **hl7_env)
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
async def hl7_api(hl7_server: ServerProcess) -> AsyncIterator[Api]:
    """An API client of the MLLP server."""
    client = Api(hl7_server.url)
    yield client
    await client.aclose()
