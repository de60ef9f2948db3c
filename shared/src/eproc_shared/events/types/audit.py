"""Events of the audit service.

``eproc.audit.public`` carries the signed checkpoints of the tamper-evident log: anyone who keeps
them can later prove that the log the city shows has not been rewritten. A checkpoint is checked
with the audit service's public key (``GET /api/audit/public/keys``) over the exact bytes
described in :class:`AuditCheckpointSigned`.

``eproc.audit.internal`` records every read an auditor makes under an assignment (surat tugas);
the audit service consumes it like every other internal topic, so the reads are in the log too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from eproc_shared.events.catalogue import Event, event

TOPIC = "eproc.audit.internal"
PUBLIC_TOPIC = "eproc.audit.public"


@event("audit.checkpoint_signed", 1, PUBLIC_TOPIC)
class AuditCheckpointSigned(Event):
    """The log's head at a moment, signed with the audit service's Ed25519 key.

    The signature covers the RFC 8785 (JCS) canonical JSON of
    ``{"head_hash": ..., "key_id": ..., "log": "eproc-audit", "seq": ..., "signed_at": ...}``
    with the values exactly as in this event.
    """

    seq: int = Field(ge=1, description="Sequence number of the last log entry covered.")
    head_hash: str = Field(description="Lowercase hex SHA-256 of that entry (the chain's head).")
    signed_at: str = Field(description="When it was signed: RFC 3339 UTC, as signed.")
    key_id: str = Field(description="RFC 7638 thumbprint of the signing key (the `kid` in the key set).")
    algorithm: Literal["Ed25519"] = "Ed25519"
    signature: str = Field(description="Base64url (no padding) Ed25519 signature of the canonical bytes.")


@event("audit.auditor_read", 1, TOPIC)
class AuditorRead(Event):
    """An auditor read part of the log under an assignment: what, with which filters, and what came back."""

    read_by: str = Field(description="The auditor's user id (`sub`).")
    assignment_ids: list[str] = Field(description="The active assignments that allowed the read.")
    resource: str = Field(description="What was read, e.g. `package/PKG-1`, `vendor/V-1`, `opd/dinkes`.")
    filters: dict[str, str] = Field(default_factory=dict, description="Query filters as sent (cursor included).")
    export_format: Literal["json", "csv"] = "json"
    entries: int = Field(ge=0, description="Log entries returned.")
    first_seq: int | None = None
    last_seq: int | None = None
    read_at: datetime


@event("audit.assignment_registered", 1, TOPIC)
class AuditAssignmentRegistered(Event):
    """An administrator registered an assignment letter (surat tugas): who may read which history, and when."""

    assignment_id: str
    auditor_id: str = Field(description="The auditor's user id (`sub`).")
    letter_number: str = Field(description="Number of the assignment letter.")
    package_ids: list[str] = Field(default_factory=list)
    opd_id: str | None = None
    fiscal_year: int | None = None
    valid_from: date = Field(description="First day (Asia/Jakarta), inclusive.")
    valid_until: date = Field(description="Last day (Asia/Jakarta), inclusive.")
    registered_by: str


@event("audit.assignment_revoked", 1, TOPIC)
class AuditAssignmentRevoked(Event):
    assignment_id: str
    auditor_id: str
    revoked_by: str
