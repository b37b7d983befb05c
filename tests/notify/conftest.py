"""Fixtures for secondary notification: receivers, an SMTP server, a server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.backends import new_database_url
from tests.notify.peers import FAST_RETRIES, Mailbox, Receiver, SmtpServer, smtp_env
from tests.support import Api, ServerProcess, free_port


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    made: list[Receiver] = []

    async def make(start: bool = True, **kwargs: Any) -> Receiver:
        receiver = Receiver(**kwargs)
        made.append(receiver)
        return await receiver.start() if start else receiver

    yield make
    for receiver in made:
        await receiver.stop()


@pytest.fixture(scope="module")
def mail() -> Any:
    """One SMTP server for a module's server."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(port, mailbox)
    controller.stop()


@pytest.fixture(scope="module")
def notify_server(backend: str, tmp_path_factory: pytest.TempPathFactory, mail: SmtpServer) -> Any:
    """A module's server (per backend) with fast retries and the module's SMTP server."""
    workdir = tmp_path_factory.mktemp(f"notify-{backend}")
    proc = ServerProcess(
        workdir,
        database_url=new_database_url(backend, workdir),
        extra_env={**FAST_RETRIES, **smtp_env(mail)},
    )
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
async def napi(notify_server: ServerProcess) -> AsyncIterator[Api]:
    client = Api(notify_server.url)
    yield client
    await client.aclose()
