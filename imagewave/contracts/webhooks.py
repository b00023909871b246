"""The webhook a job's `webhook_url` receives: its body and how it is signed.

Signed the Standard Webhooks way (as Replicate and Svix do), so existing verifiers work:
headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64>`,
where the signature is HMAC-SHA256 over `"{id}.{timestamp}.{body}"` keyed with the base64-decoded
part of the secret after `whsec_`. The sender (gateway workers) and receivers (the Python client,
a user's server) share these functions; docs/webhooks.md shows the same check in plain Python.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from enum import Enum

from pydantic import BaseModel, Field

from imagewave.contracts.jobs import JobStatus, JobView
from imagewave.errors import ImagewaveError

SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE_S = 300  # how old a delivery may be: bounds replays of a captured request


class WebhookEventType(str, Enum):
    succeeded = "job.succeeded"
    failed = "job.failed"
    canceled = "job.canceled"

    @classmethod
    def for_status(cls, status: JobStatus) -> WebhookEventType:
        return cls(f"job.{status.value}")


class WebhookEvent(BaseModel):
    """The JSON body POSTed to `webhook_url`: what happened and the job as GET /jobs/{id}."""

    type: WebhookEventType
    timestamp: float = Field(description="When the event was made (unix seconds)")
    data: JobView


class InvalidWebhookSignature(ImagewaveError):
    status_code = 401
    code = "invalid_webhook_signature"


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must start with {SECRET_PREFIX!r}")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign_webhook(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one delivery."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secret: str, message_id: str, body: bytes,
                    timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {ID_HEADER: message_id, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign_webhook(secret, message_id, timestamp, body),
            "content-type": "application/json"}


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes, *,
                   tolerance_s: float = DEFAULT_TOLERANCE_S,
                   now: float | None = None) -> WebhookEvent:
    """Check a delivery's signature and age; return its parsed body or raise
    `InvalidWebhookSignature` saying what is wrong. `headers` lookups are case-insensitive."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        message_id = lowered[ID_HEADER]
        timestamp = int(lowered[TIMESTAMP_HEADER])
        signatures = lowered[SIGNATURE_HEADER].split()
    except KeyError as exc:
        raise InvalidWebhookSignature(f"header {exc.args[0]} is missing",
                                      field=exc.args[0]) from None
    except ValueError:
        raise InvalidWebhookSignature(f"{TIMESTAMP_HEADER} is not an integer",
                                      field=TIMESTAMP_HEADER) from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise InvalidWebhookSignature(
            f"{TIMESTAMP_HEADER} {timestamp} is more than {tolerance_s:.0f} s from now",
            field=TIMESTAMP_HEADER)
    expected = sign_webhook(secret, message_id, timestamp, body)
    # The header may carry several space-separated signatures (secret rotation).
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise InvalidWebhookSignature("signature does not match the body",
                                      field=SIGNATURE_HEADER)
    return WebhookEvent.model_validate_json(body)
