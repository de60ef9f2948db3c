"""Standard Webhooks signatures (https://www.standardwebhooks.com/), with secret rotation.

Each call carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256>`` over ``id.timestamp.body``, keyed with the endpoint's
``whsec_<base64>`` secret. During a rotation's overlap the old secret signs too, so a receiver that
still holds it keeps verifying. The signing itself is the ``standardwebhooks`` reference library's.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, message_id: str, timestamp: datetime, body: str) -> str:
    return Webhook(secret).sign(msg_id=message_id, timestamp=timestamp.astimezone(UTC), data=body)


def headers(secrets_in_use: Iterable[str], message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in use (newest first)."""
    signatures = [signature(secret, message_id, timestamp, body) for secret in secrets_in_use]
    if not signatures:
        raise ValueError("an endpoint needs at least one secret")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def secrets_in_use(secret: str, previous: str | None, previous_until: datetime | None, now: datetime) -> list[str]:
    if previous and previous_until is not None and now < previous_until:
        return [secret, previous]
    return [secret]
