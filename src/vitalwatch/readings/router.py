"""POST /api/v1/readings: devices post batches of samples.

The busiest route by far (every device, every second or more often), so it
is a plain ASGI endpoint that the app calls ahead of FastAPI's routing:
FastAPI's per-request machinery (middleware, dependency resolution, the
response model) was two thirds of a single-sample request's cost
(docs/performance.md, "Ingest"). It answers as a FastAPI route would; its
OpenAPI entry is `OPENAPI_PATH`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from vitalwatch.edge import bearer, content_length, early_close, send_json
from vitalwatch.errors import DomainError, error_body, validation_body
from vitalwatch.logging import get_logger
from vitalwatch.readings import service
from vitalwatch.readings.schemas import MAX_SAMPLES, IngestAck, ReadingsBatch

if TYPE_CHECKING:
    from vitalwatch.context import AppContext

log = get_logger(__name__)

PATH = "/api/v1/readings"
#: The default of VITALWATCH_READINGS_MAX_BODY_BYTES: 10,000 samples with every
#: field (about 1.2 MB compact, 2.5 MB pretty-printed) stay below it.
MAX_BODY_BYTES = 4 * 1024 * 1024


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class _TooMany(Exception):
    """More sample objects than MAX_SAMPLES: found while the body is read."""


async def handle(ctx: AppContext, scope: Scope, receive: Receive, send: Send) -> None:
    """Store a batch of samples; 202 only once they are durably committed."""
    if scope["method"] != "POST":
        await _answer(send, 405, {"detail": "Method Not Allowed"}, [(b"allow", b"POST")])
        return
    declared = content_length(scope)
    try:
        # Who is posting is known before a byte of the body is read.
        device = await service.authenticate(bearer(scope), ctx.devices)
        limit = ctx.settings.readings_max_body_bytes
        if declared is not None and declared > limit:
            raise _TooLarge  # refused unread: uvicorn discards it as it arrives
        body = await _body(receive, limit)
        ack = await service.ingest(
            body,
            device,
            ctx.devices,
            ctx.cluster,
            ctx.settings.max_future_skew_s,
        )
    except _Disconnected:
        return
    except _TooLarge:
        size = f"{ctx.settings.readings_max_body_bytes:,} bytes"
        detail = f"The body is over {size}; send at most {MAX_SAMPLES:,} samples per request"
        await _answer(send, 413, {"detail": detail}, early_close(declared))
    except _TooMany:
        await _answer(send, 422, validation_body([service.too_many_samples_error()]))
    except DomainError as exc:
        headers = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
        if exc.status == 401:
            headers += early_close(declared)  # refused unread
        await _answer(send, exc.status, error_body(exc), headers)
    except Exception:
        log.exception("readings_request_failed")
        await _answer(send, 500, {"detail": "Internal Server Error"})
    else:
        await _answer(send, 202, {"accepted": ack.accepted, "duplicates": ack.duplicates})


async def _body(receive: Receive, limit: int) -> bytes:
    """The body, read chunk by chunk. Objects are counted as chunks arrive (a
    sample is one object): a body with too many is refused as soon as that is
    clear, and the count costs small slices of the loop rather than one pass
    over a large body at the end."""
    chunks: list[bytes] = []
    size = objects = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        objects += chunk.count(b"{")
        if objects > MAX_SAMPLES + 1:
            raise _TooMany
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(
    send: Send, status: int, content: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_json(
        send, status, content, [(b"x-content-type-options", b"nosniff"), *(headers or ())]
    )


def _json(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}


#: The route's OpenAPI entry (app.py adds it, and OPENAPI_MODELS, to the schema).
OPENAPI_PATH: dict[str, Any] = {
    "post": {
        "tags": ["readings"],
        "summary": "Post readings",
        "description": handle.__doc__,
        "operationId": "post_readings_api_v1_readings_post",
        "security": [{"HTTPBearer": []}],
        "requestBody": {
            "required": True,
            "content": _json("ReadingsBatch"),
        },
        "responses": {
            "202": {
                "description": "Every sample is durably stored (or was already: duplicates)",
                "content": _json("IngestAck"),
            },
            "401": {"description": "No device token, or not a valid one"},
            "409": {
                "description": "The device is not bound to an active session, or a sample "
                "repeats a stored seq and ts with other values (named, with the stored "
                "values); nothing stored"
            },
            "413": {"description": "Body over VITALWATCH_READINGS_MAX_BODY_BYTES (4 MiB)"},
            "422": {
                "description": "A sample is implausible; the error names sample and field",
                "content": _json("HTTPValidationError"),
            },
            "503": {"description": "The database did not take the commit; retry the batch"},
        },
    }
}

OPENAPI_MODELS = (ReadingsBatch, IngestAck)
