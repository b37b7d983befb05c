"""A module's server (per backend) holding the known alarm history."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.backends import new_database_url
from tests.reports.history import HISTORY_ENV, History, build
from tests.support import Api, ServerProcess


@pytest.fixture(scope="module")
def report_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"reports-{backend}")
    proc = ServerProcess(
        workdir, database_url=new_database_url(backend, workdir), extra_env=HISTORY_ENV
    )
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
async def history(report_server: ServerProcess) -> AsyncIterator[History]:
    api = Api(report_server.url)
    yield await build(api)
    await api.aclose()
