"""Webhook endpoints' signing secrets in the database: written encrypted, read back for signing.

``secret_encrypted`` / ``previous_secret_encrypted`` hold the values (see domain/secret_box.py). The
plaintext columns ``secret`` / ``previous_secret`` are what revisions before 0003 wrote: this service
never writes them again, and when it starts it encrypts whatever they still hold and empties them. That
is done here rather than in the migration because migrations run without the key (the Kubernetes init
container has the database URL only, and ``alembic upgrade`` by hand should not need it either).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_notify.domain import signing
from eproc_notify.domain.secret_box import SecretBox, SecretUnreadable, UnknownKey
from eproc_notify.models import endpoints

log = logging.getLogger(__name__)
e = endpoints.c
_STORED = ("id", "secret", "previous_secret", "secret_encrypted", "previous_secret_encrypted")


def sealed(
    box: SecretBox, endpoint_id: str, secret: str, previous: str | None, previous_until: datetime | None
) -> dict[str, Any]:
    """Column values storing an endpoint's secrets, encrypted (and no plaintext left behind)."""
    return {
        "secret": None,
        "previous_secret": None,
        "secret_encrypted": box.seal(secret, endpoint_id),
        "previous_secret_encrypted": box.seal(previous, endpoint_id) if previous else None,
        "previous_secret_until": previous_until if previous else None,
    }


def current_secret(box: SecretBox, row: Mapping[str, Any]) -> str:
    """The secret that signs now. Raises SecretUnreadable when the stored value cannot be decrypted."""
    if row["secret"]:
        # Plaintext is only ever newer than the encrypted value: written before this release, or by a
        # replica of the earlier release during a rolling upgrade. It is encrypted at the next start.
        return str(row["secret"])
    if row["secret_encrypted"]:
        return box.open(row["secret_encrypted"], row["id"])
    raise SecretUnreadable(f"endpoint {row['id']} has no secret")


def previous_secret(box: SecretBox, row: Mapping[str, Any]) -> str | None:
    """The secret replaced by the last rotation (whether it still signs depends on previous_secret_until)."""
    if row["secret"]:
        if row["previous_secret"]:
            return str(row["previous_secret"])
        # An earlier release rotated a secret this release had encrypted: it could not read the one it
        # replaced, which is the encrypted one.
        return box.open(row["secret_encrypted"], row["id"]) if row["secret_encrypted"] else None
    if row["previous_secret_encrypted"]:
        return box.open(row["previous_secret_encrypted"], row["id"])
    return None


def signing_secrets(box: SecretBox, row: Mapping[str, Any], now: datetime) -> list[str]:
    """The secrets that sign a call now (newest first); the previous one is opened only during its overlap."""
    until = row["previous_secret_until"]
    previous = previous_secret(box, row) if until is not None and now < until else None
    return signing.secrets_in_use(current_secret(box, row), previous, until, now)


def _needs_work(box: SecretBox, row: Mapping[str, Any]) -> bool:
    if row["secret"] or row["previous_secret"]:
        return True
    return any(
        row[column] and not box.is_current(row[column]) for column in ("secret_encrypted", "previous_secret_encrypted")
    )


async def seal_stored_secrets(sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> int:
    """At start-up: encrypt plaintext secrets and re-encrypt those sealed under an old key; answers how many
    endpoints changed.

    Refuses (UnknownKey) when a value was sealed under a key the settings lack: started like that, the service
    could sign for none of those endpoints, so better to keep the previous release serving. A value that does
    not decrypt under a key it has (moved from another row, altered) is logged and left: its endpoint fails
    until its owner rotates the secret, and the other endpoints keep working.
    """
    async with sessions() as session:
        stmt = select(*(e[name] for name in _STORED), e.previous_secret_until)
        rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    changed = 0
    for row in rows:
        if not _needs_work(box, row):
            continue
        try:
            secret, previous = current_secret(box, row), previous_secret(box, row)
        except UnknownKey as exc:
            raise UnknownKey(exc.key_id, f"the secret of webhook endpoint {row['id']} is ") from None
        except SecretUnreadable as exc:
            log.error("webhook endpoint %s: %s; it cannot sign until its secret is rotated", row["id"], exc)
            continue
        values = sealed(box, row["id"], secret, previous, row["previous_secret_until"])
        async with sessions() as session, session.begin():
            # Only if the row still holds what was read: a replica may have rotated the secret meanwhile.
            unchanged = [e[name].is_(None) if row[name] is None else e[name] == row[name] for name in _STORED]
            result = await session.execute(update(endpoints).where(*unchanged).values(**values))
            changed += result.rowcount  # type: ignore[attr-defined]
    if changed:
        log.info("encrypted the webhook secrets of %d endpoints under key %s", changed, box.current_key_id)
    return changed
