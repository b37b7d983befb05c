"""The long-lived parts of a running service, shared by every request.

Built once in the app's lifespan and reached through the `Ctx` dependency,
so handlers say what they use instead of digging in `app.state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitalwatch.config import Settings

if TYPE_CHECKING:
    from vitalwatch.audit.service import AuditQueue
    from vitalwatch.auth.directory import RevocationBus, UserDirectory
    from vitalwatch.auth.security import HashPool
    from vitalwatch.auth.throttle import LoginThrottle
    from vitalwatch.cluster.service import Cluster
    from vitalwatch.devices.service import DeviceDirectory
    from vitalwatch.hl7.service import Hl7Ingest
    from vitalwatch.live.confirmations import Confirmations
    from vitalwatch.live.hub import Hub
    from vitalwatch.live.sockets import SocketRegistry
    from vitalwatch.readings.latest import LatestStore
    from vitalwatch.sdc.service import SdcConsumer


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    devices: DeviceDirectory
    latest: LatestStore
    hub: Hub
    #: Dashboards' receipts of alarms (delivery confirmed).
    confirmations: Confirmations
    #: Where samples and alarm commands go: this process, or the partition's owner.
    cluster: Cluster
    #: Is a staff token still good (active user, token version), cached briefly.
    users: UserDirectory
    #: argon2 in a bounded pool of threads of its own.
    hashing: HashPool
    #: Failed-login counts per account and client address.
    throttle: LoginThrottle
    #: Audit rows written off the request path (failed and throttled logins).
    audit: AuditQueue
    #: Live sockets per token and per user (caps, revocation).
    sockets: SocketRegistry
    #: Production mode: revocations announced to the other processes.
    revocations: RevocationBus | None = None
    #: HL7 v2 ingest (the MLLP listener's handler; identifiers, unassigned senders).
    hl7: Hl7Ingest | None = None
    #: IEEE 11073 SDC consumer (VITALWATCH_SDC_ADAPTER set), None when off.
    sdc: SdcConsumer | None = None


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]
