"""Settings from `VITALWATCH_*` environment variables (pydantic-settings).

Outside development the service refuses to start with the built-in secret:
a leaked default key would let anyone mint staff tokens.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me-now-please"  # noqa: S105 - refused outside development


#: A secret key must carry at least this much (estimated) entropy.
MIN_SECRET_BITS = 80
#: What VITALWATCH_SDC_CERTS names: sdc11073's file names (certloader).
SDC_CERT_FILES = ("usercert.pem", "userkey.pem", "cacert.pem")


def secret_bits(key: str) -> float:
    """An estimate of a key's entropy: the lower of its length times the entropy
    of its character frequencies (Shannon) and the bits it takes compressed, so
    a repeated pattern ("abcd" * 10) is judged by its pattern. 32 identical
    characters: 0; 32 random hex digits: 95-125; secrets.token_urlsafe(48): ~350."""
    counts = Counter(key)
    n = len(key)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0
    data = key.encode()
    compressed = (len(zlib.compress(data, 9)) - len(zlib.compress(b"", 9))) * 8
    return min(per_char * n, float(compressed))


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
    #: How long a SQLite write waits for another process's lock before the
    #: request is answered 503 with Retry-After (the device retries the batch).
    sqlite_busy_timeout_s: float = Field(default=5.0, ge=0.1, le=60.0)
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
    #: An alarm nobody acknowledges goes to secondary notification after this long.
    escalate_high_s: float = Field(default=60.0, ge=5, le=3600)
    escalate_medium_s: float = Field(default=120.0, ge=5, le=3600)
    #: A high or medium alert that no visible, sound-enabled dashboard showed
    #: within this long goes to secondary notification at once.
    delivery_timeout_s: float = Field(default=5.0, ge=1, le=300)
    #: No visible, sound-enabled dashboard for this long while sessions are
    #: active: the station's own "no dashboard is watching" alarm.
    unwatched_after_s: float = Field(default=30.0, ge=5, le=3600)
    #: Minimum interval between vitals frames to one dashboard.
    vitals_interval_s: float = Field(default=0.25, gt=0)
    ping_interval_s: float = Field(default=5.0, gt=0, le=10.0)
    #: Readings of sessions that ended longer ago than this are deleted (hourly
    #: job); None keeps them. Alarms, audit and session records are kept.
    readings_retention_days: int | None = Field(default=None, ge=1)
    #: Live events older than this are pruned from the replay log.
    event_retention_s: int = Field(default=24 * 3600, ge=3600)
    #: The longest alarm delay (sustain time, `for_s`) the clinic accepts as
    #: "on": a longer one counts as switching that alarm off (confirmed, with
    #: a reason, on the timeline and shown on the tile).
    max_sustain_s: float = Field(default=60.0, ge=0, le=3600)
    # -- secondary notification (vitalwatch.notify) --
    #: The address staff reach the service at, for the links in notifications
    #: (acknowledge, central station); default http://<host>:<port>.
    notify_public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    #: How long an acknowledge link in a notification stays valid.
    notify_link_ttl_s: int = Field(default=30 * 60, ge=1, le=24 * 3600)
    #: How often each partition's sender looks for due notifications.
    notify_poll_s: float = Field(default=0.25, gt=0, le=5.0)
    #: One delivery attempt's time limit (connect + send + answer).
    notify_timeout_s: float = Field(default=10.0, gt=0, le=120.0)
    #: Retries wait base * 2^(attempt-1) seconds, at most `notify_retry_max_s`.
    notify_retry_base_s: float = Field(default=2.0, gt=0, le=300.0)
    notify_retry_max_s: float = Field(default=120.0, gt=0, le=3600.0)
    #: Attempts per notification before it is given up (logged as failed).
    notify_max_attempts: int = Field(default=20, ge=1, le=1000)
    #: The SMTP server for e-mail targets (unset: e-mail targets fail, logged).
    notify_smtp_host: str | None = None
    notify_smtp_port: int = Field(default=587, ge=1, le=65535)
    #: "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (a local relay).
    notify_smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    notify_smtp_username: str | None = None
    notify_smtp_password: str | None = None
    notify_smtp_from: str = "vitalwatch@localhost"
    #: Comma-separated host names: when set, notifications go to these hosts only
    #: (egress control; the tests allow only loopback). Unset: any host.
    notify_allowed_hosts: str | None = None
    #: The clinic's time zone (IANA name): times on the pages (named there; a
    #: clock time typed in is read in it, whatever the browser's zone), in
    #: reports and forms, and the calendar days of the REMS form's 7-day deadline.
    clinic_timezone: str = "UTC"
    #: The clinic's name until an admin fills in the clinic profile (PUT /api/v1/clinic),
    #: which then names it in the report, the REMS form and FHIR's Organization.
    clinic_name: str = Field(default="VitalWatch clinic", min_length=1, max_length=200)
    #: The clinic's locale (a BCP 47 tag such as en-GB, de-DE, sv-SE): how the
    #: station's pages write dates (times are always 24-hour).
    clinic_locale: str = Field(default="en-GB", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
    #: How often discharge readiness and observation reminders are re-checked.
    records_check_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)"
            ) from None
        return value

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
    #: A monitor's own alarm (HL7 ORU^R40) stands on the station until the monitor
    #: reports its end, its session ends, or no report of it (start, continue,
    #: change) came for this long: PCD-04 senders report transitions and repeat
    #: "continue" only by site agreement, so a lost "end" must not keep an alarm
    #: on a tile for ever.
    monitor_alarm_stands_s: float = Field(default=600.0, gt=0, le=86_400)
    #: IEEE 11073 SDC: discover and read SDC monitors on this network interface
    #: ("eth1"; "lo" for monitors on this machine); unset: no SDC consumer. The
    #: interface needs multicast (WS-Discovery on 239.255.255.250, UDP).
    sdc_adapter: str | None = None
    #: The WS-Discovery UDP port: 3702 as the standard has it (another only on a
    #: network of its own, such as a test machine's loopback).
    sdc_discovery_port: int = Field(default=3702, ge=1, le=65535)
    #: A directory with the consumer's certificate for SDC (sdc11073's file
    #: names: `usercert.pem`, its key `userkey.pem`, the CA `cacert.pem`): the
    #: consumer then talks TLS only, both ways, and a provider must present a
    #: certificate of that CA. Unset: plain HTTP, on the named adapter only.
    sdc_certs: str | None = None

    @model_validator(mode="after")
    def _sdc_certs_complete(self) -> Settings:
        if self.sdc_certs is not None:
            folder = Path(self.sdc_certs)
            missing = [n for n in SDC_CERT_FILES if not (folder / n).is_file()]
            if missing:
                raise ValueError(
                    f"VITALWATCH_SDC_CERTS={self.sdc_certs} lacks {', '.join(missing)}: the "
                    "directory holds the consumer's certificate (usercert.pem), its key "
                    "(userkey.pem) and the CA the providers' certificates are signed by "
                    "(cacert.pem)"
                )
        return self

    @model_validator(mode="after")
    def _mllp_tls_needs_both(self) -> Settings:
        if (self.mllp_tls_cert is None) != (self.mllp_tls_key is None):
            raise ValueError(
                "VITALWATCH_MLLP_TLS_CERT and VITALWATCH_MLLP_TLS_KEY go together: "
                "set both or neither"
            )
        return self

    # --- hardening (issue 16) ---------------------------------------------------
    #: New staff passwords: at least this long (and not common, not the user name).
    password_min_length: int = Field(default=10, ge=8, le=128)
    #: argon2 checks at once (64 MiB each), and how many logins may wait for one.
    password_hash_workers: int = Field(default=1, ge=1, le=16)
    password_hash_queue: int = Field(default=32, ge=1, le=10_000)
    #: At most this share of a worker's time goes to argon2 (it rests between checks).
    password_hash_duty: float = Field(default=0.5, gt=0.0, le=1.0)
    #: Failed logins allowed per account / per client address before back-off
    #: (1, 2, 4 ... s, at most login_max_delay_s), counted over login_window_s.
    login_account_attempts: int = Field(default=5, ge=1)
    login_address_attempts: int = Field(default=20, ge=1)
    login_window_s: float = Field(default=900.0, ge=10)
    login_max_delay_s: float = Field(default=900.0, ge=1)
    #: How long a user's state (active, token version) is cached per process.
    user_cache_s: float = Field(default=3.0, ge=0.0, le=30.0)
    #: Live sockets one staff token may hold open at once.
    ws_max_per_token: int = Field(default=8, ge=1, le=1000)
    #: Browser origins allowed to open the live socket besides the service's own
    #: (comma-separated, e.g. "https://station.clinic.example" behind a proxy).
    allowed_origins: str = ""
    #: Bearer token for GET /metrics; unset: /metrics answers 404 unless
    #: `metrics_public` (development) is set.
    metrics_token: str | None = None
    metrics_public: bool | None = None
    #: Swagger UI and ReDoc at /docs and /redoc (they load scripts from a public
    #: CDN): on in development, off otherwise unless set.
    api_docs: bool | None = None
    #: Proxies whose X-Forwarded-For is believed (comma-separated addresses);
    #: empty: the peer address is the client address.
    trusted_proxies: str = ""
    #: Largest request body of the JSON API routes (readings have their own cap).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Largest readings body: 10,000 samples with every field fit in 2.5 MB even
    #: pretty-printed; a larger one is refused (413) before it is read.
    readings_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    #: A request body must arrive within this long (slow clients are cut off: 408).
    body_timeout_s: float = Field(default=10.0, gt=0)
    #: A request line and its headers must arrive within this long (slow
    #: clients are cut off: 408), counted from the connection or the request's
    #: first byte.
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: Idle keep-alive connections are closed after this long.
    keep_alive_timeout_s: int = Field(default=5, ge=1, le=300)
    #: uvicorn's access log (method, path without query string, status).
    access_log: bool = False

    @property
    def docs_enabled(self) -> bool:
        return self.environment == "development" if self.api_docs is None else self.api_docs

    @property
    def metrics_open(self) -> bool:
        if self.metrics_public is None:
            return self.environment == "development"
        return self.metrics_public

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )

    @model_validator(mode="after")
    def _refuse_insecure_secret(self) -> Settings:
        if self.environment != "development" and (
            self.secret_key == DEV_SECRET
            or len(self.secret_key) < 32
            or secret_bits(self.secret_key) < MIN_SECRET_BITS
        ):
            raise ValueError(
                "VITALWATCH_SECRET_KEY must be set to a random value of at least 32 "
                f"characters and about {MIN_SECRET_BITS} bits of entropy outside development "
                "(this one is too short or too repetitive; e.g. `python -c 'import secrets; "
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
    def notify_hosts(self) -> frozenset[str] | None:
        if not self.notify_allowed_hosts:
            return None
        return frozenset(h.strip().lower() for h in self.notify_allowed_hosts.split(",") if h)

    @property
    def public_url(self) -> str:
        return (self.notify_public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's zone (`VITALWATCH_CLINIC_TIMEZONE`): a report's days and a
        record's times and checklist day are the clinic's calendar, not UTC's."""
        return ZoneInfo(self.clinic_timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
