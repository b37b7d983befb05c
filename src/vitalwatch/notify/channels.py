"""Delivering one notification to one target: signed webhook, ntfy, e-mail, apprise.

Why not apprise for everything: apprise builds the request itself, so it
cannot sign the exact bytes it sends (the webhook's HMAC covers the body),
cannot put an Idempotency-Key header on an ntfy push or our Message-ID on an
e-mail (how a receiver recognises a retry after a crash), and reports a
yes/no rather than the status a nurse's log should show. The three
first-class kinds are therefore sent directly: httpx (already the service's
HTTP client) and the standard library's smtplib in a worker thread (a
blocking but long-proven client; one e-mail at a time per attempt). apprise
covers the long tail (Telegram, Slack, Signal, Pushover, Matrix, ... by its
URL), with the idempotency key in the text.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx
import orjson

from vitalwatch.config import Settings
from vitalwatch.notify.messages import Notice

KINDS = ("webhook", "ntfy", "email", "apprise")
TIMESTAMP_HEADER = "X-VitalWatch-Timestamp"
SIGNATURE_HEADER = "X-VitalWatch-Signature"
KEY_HEADER = "Idempotency-Key"
_NTFY_PRIORITY = {"high": "5", "medium": "4", "low": "3"}


class DeliveryFailed(Exception):
    """The target did not take the notification; the text says why (no content)."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A target as the sender needs it."""

    id: int
    name: str
    kind: str
    address: str
    secret: str | None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256(secret, "<timestamp>." + body): see docs/api.md."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _header(text: str) -> str:
    """Header values are ASCII; anything else as an RFC 2047 word (ntfy decodes it)."""
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


async def deliver(
    dest: Destination, notice: Notice, settings: Settings, http: httpx.AsyncClient
) -> str:
    """Send once; returns the outcome ("HTTP 200", "SMTP accepted"), raises DeliveryFailed."""
    allowed = settings.notify_hosts
    if allowed is not None and _host(dest, settings) not in allowed:
        raise DeliveryFailed("host not allowed (VITALWATCH_NOTIFY_ALLOWED_HOSTS)")
    if dest.kind == "webhook":
        return await _webhook(dest, notice, http, settings.notify_timeout_s)
    if dest.kind == "ntfy":
        return await _ntfy(dest, notice, http, settings.notify_timeout_s)
    if dest.kind == "email":
        return await _email(dest, notice, settings)
    if dest.kind == "apprise":
        return await _apprise(dest, notice, settings.notify_timeout_s)
    raise DeliveryFailed(f"unknown target kind {dest.kind!r}")


def _host(dest: Destination, settings: Settings) -> str | None:
    """The host a delivery to `dest` connects to (None when it cannot be told)."""
    if dest.kind in ("webhook", "ntfy"):
        return httpx.URL(dest.address).host.lower()
    if dest.kind == "email":
        return (settings.notify_smtp_host or "").lower()
    import apprise  # loaded when an apprise target is used, not on every start

    try:
        plugin = apprise.Apprise.instantiate(dest.address)
    except Exception:  # an unparsable URL: refused like an unknown host
        return None
    host = getattr(plugin, "host", None)
    return host.lower() if isinstance(host, str) else None


async def _post(http: httpx.AsyncClient, url: str, limit_s: float, **kwargs: Any) -> str:
    try:
        r = await http.post(url, timeout=limit_s, follow_redirects=False, **kwargs)
    except httpx.TimeoutException:
        raise DeliveryFailed(f"no answer within {limit_s:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"cannot reach the target ({type(exc).__name__})") from None
    if not 200 <= r.status_code < 300:
        raise DeliveryFailed(f"HTTP {r.status_code}")
    return f"HTTP {r.status_code}"


async def _webhook(
    dest: Destination, notice: Notice, http: httpx.AsyncClient, limit_s: float
) -> str:
    if not dest.secret:
        raise DeliveryFailed("the webhook has no signing secret")
    body = orjson.dumps(notice.as_json())
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        KEY_HEADER: notice.key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(dest.secret, timestamp, body),
    }
    return await _post(http, dest.address, limit_s, content=body, headers=headers)


async def _ntfy(dest: Destination, notice: Notice, http: httpx.AsyncClient, limit_s: float) -> str:
    headers = {
        KEY_HEADER: notice.key,
        "Title": _header(notice.title),
        "Priority": _NTFY_PRIORITY.get(notice.priority, "4"),
        "Tags": "rotating_light" if notice.alarm is not None else "white_check_mark",
        "Click": notice.ack_url or notice.station_url,
        "Content-Type": "text/plain; charset=utf-8",
    }
    if notice.ack_url:
        headers["Actions"] = f"view, Acknowledge, {notice.ack_url}, clear=true"
    if dest.secret:
        headers["Authorization"] = f"Bearer {dest.secret}"
    return await _post(http, dest.address, limit_s, content=notice.text.encode(), headers=headers)


def _smtp_send(settings: Settings, message: EmailMessage) -> None:
    host = settings.notify_smtp_host
    assert host is not None
    timeout = settings.notify_timeout_s
    smtp: smtplib.SMTP
    if settings.notify_smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            host, settings.notify_smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, settings.notify_smtp_port, timeout=timeout)
    with smtp:
        if settings.notify_smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.notify_smtp_username:
            smtp.login(settings.notify_smtp_username, settings.notify_smtp_password or "")
        smtp.send_message(message)


async def _email(dest: Destination, notice: Notice, settings: Settings) -> str:
    if not settings.notify_smtp_host:
        raise DeliveryFailed("no SMTP server configured (VITALWATCH_NOTIFY_SMTP_HOST)")
    message = EmailMessage()
    message["Subject"] = notice.title
    message["From"] = settings.notify_smtp_from
    message["To"] = dest.address
    message["Date"] = formatdate(localtime=False)
    # The same Message-ID on every attempt: a retry after a crash is a duplicate.
    message["Message-ID"] = f"<{notice.key}@vitalwatch.notify>"
    message["X-VitalWatch-Idempotency-Key"] = notice.key
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.text)
    try:
        await asyncio.wait_for(
            asyncio.to_thread(_smtp_send, settings, message), settings.notify_timeout_s + 5
        )
    except TimeoutError:
        raise DeliveryFailed("the SMTP server did not answer in time") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP: {type(exc).__name__}") from None
    return "SMTP accepted"


def apprise_url_ok(url: str) -> bool:
    """Whether apprise knows this URL's service (checked when the admin saves it)."""
    import apprise

    try:
        return bool(apprise.Apprise().add(url))
    except Exception:  # apprise's URL parsers are many; any failure means "not known"
        return False


async def _apprise(dest: Destination, notice: Notice, limit_s: float) -> str:
    import apprise

    ap = apprise.Apprise()
    if not ap.add(dest.address):
        raise DeliveryFailed("apprise does not recognise this URL")
    kind = apprise.NotifyType.FAILURE if notice.priority == "high" else apprise.NotifyType.WARNING
    try:
        result = await asyncio.wait_for(
            ap.async_notify(body=notice.text, title=notice.title, notify_type=kind),
            limit_s + 5,
        )
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {limit_s:g} s") from None
    if not result:
        raise DeliveryFailed("the service did not accept the notification (apprise)")
    return "accepted (apprise)"
