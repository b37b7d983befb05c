"""Settings from `VITALWATCH_*` environment variables (pydantic-settings).

Outside development the service refuses to start with the built-in secret:
a leaked default key would let anyone mint staff tokens.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me-now-please"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VITALWATCH_", env_file=None, extra="ignore", env_ignore_empty=True
    )

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./vitalwatch.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = DEV_SECRET
    token_ttl_s: int = Field(default=12 * 3600, ge=60)
    #: SQLite durability: FULL fsyncs every (group) commit, so an acknowledged
    #: sample survives power loss too; NORMAL survives process crashes only.
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    #: Group commit: the most samples one transaction takes from the queue.
    ingest_max_batch_rows: int = Field(default=20_000, ge=1)
    #: Samples whose ts is later than now + this are rejected (device clock error).
    max_future_skew_s: float = Field(default=120.0, ge=0)
    #: Set to run several service processes (on PostgreSQL): they share work
    #: and live events through Redis Streams under `redis_prefix`.
    redis_url: str | None = None
    #: Connections to Redis per process (requests wait for a free one).
    redis_max_connections: int = Field(default=200, ge=8, le=10_000)
    redis_prefix: str = Field(default="vitalwatch", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    #: Sessions are spread over this many partitions, each evaluated by one process.
    #: Every process of one deployment must use the same number.
    partitions: int = Field(default=8, ge=1, le=256)
    #: A process that stops renewing its partitions loses them after this long.
    lease_ttl_s: float = Field(default=5.0, ge=1.0, le=60.0)
    #: How long a request waits for the process that evaluates its session.
    cluster_request_timeout_s: float = Field(default=15.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    #: How often technical alarms, escalation and reminders are evaluated.
    tick_interval_s: float = Field(default=0.5, gt=0, le=1.0)
    #: Minimum interval between vitals frames to one dashboard.
    vitals_interval_s: float = Field(default=0.25, gt=0)
    ping_interval_s: float = Field(default=5.0, gt=0, le=10.0)
    #: Readings of sessions that ended longer ago than this are deleted (hourly
    #: job); None keeps them. Alarms, audit and session records are kept.
    readings_retention_days: int | None = Field(default=None, ge=1)
    #: Live events older than this are pruned from the replay log.
    event_retention_s: int = Field(default=24 * 3600, ge=3600)
    #: HL7 v2 over MLLP (monitors, gateways): listen on this port when set.
    mllp_port: int | None = Field(default=None, ge=1, le=65535)
    #: Bind address of the MLLP listener; None: the service's host.
    mllp_host: str | None = None
    #: TLS for MLLP: PEM certificate chain and private key (both or neither).
    mllp_tls_cert: str | None = None
    mllp_tls_key: str | None = None
    #: Sender addresses allowed to connect, comma-separated IPs or networks
    #: ("10.1.0.0/16,192.168.5.7"); unset: any.
    mllp_allow: str | None = None
    #: Time zone of HL7 times that carry no offset (IANA name, or "local": this
    #: machine's); a device's own `hl7_timezone` wins.
    mllp_timezone: str = "local"
    #: Largest HL7 message taken; a larger frame is answered AR and skipped.
    mllp_max_message_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)

    @model_validator(mode="after")
    def _mllp_tls_needs_both(self) -> Settings:
        if (self.mllp_tls_cert is None) != (self.mllp_tls_key is None):
            raise ValueError(
                "VITALWATCH_MLLP_TLS_CERT and VITALWATCH_MLLP_TLS_KEY go together: "
                "set both or neither"
            )
        return self

    @model_validator(mode="after")
    def _refuse_insecure_secret(self) -> Settings:
        if self.environment != "development" and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "VITALWATCH_SECRET_KEY must be set to a random value of at least 32 "
                "characters outside development (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @model_validator(mode="after")
    def _several_processes_need_postgresql(self) -> Settings:
        if self.redis_url and self.is_sqlite:
            raise ValueError(
                "VITALWATCH_REDIS_URL (several service processes) needs PostgreSQL: set "
                "VITALWATCH_DATABASE_URL=postgresql+asyncpg://..., or unset the Redis URL "
                "to run one process on SQLite"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
