"""Which package, OPD, vendor, contract and actor a log entry concerns, from any event, known or not.

The rule (pure, applied to the hashed document, so verification can re-derive it):

- ``package_id``, ``opd_id``, ``vendor_id``, ``contract_id``: the payload's top-level field of that
  name when it is a non-empty string; else ``ce_subject`` when written ``<kind>/<id>`` or
  ``<kind>:<id>`` (kind = package, opd, vendor, contract); else, by the platform's convention that
  the record key (and a bare subject) is the aggregate id, the key or bare subject of an event whose
  type starts with ``tender.`` (a package), ``vendor.`` (a vendor) or ``contract.`` (a contract).
- ``fiscal_year``: the payload's top-level integer ``fiscal_year``.
- ``actor``: the payload's ``actor_id`` or ``actor`` string, else the first non-empty string field
  whose name ends in ``_by`` (``verified_by``, ``opened_by``...), in sorted name order.

Values longer than 200 characters are not indexed (the entry is still logged and hashed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

KINDS = ("package", "opd", "vendor", "contract")
AGGREGATE_OF_DOMAIN = {"tender": "package", "vendor": "vendor", "contract": "contract"}
MAX_ID = 200


@dataclass(frozen=True)
class EntryIndex:
    event_id: str
    source: str
    type: str
    event_time: datetime | None
    subject: str | None
    key: str | None
    topic: str
    received_at: datetime
    actor: str | None
    package_id: str | None
    opd_id: str | None
    vendor_id: str | None
    contract_id: str | None
    fiscal_year: int | None

    def columns(self) -> dict[str, Any]:
        return asdict(self)


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _from_subject(subject: str | None, kind: str) -> str | None:
    if not subject:
        return None
    for sep in ("/", ":"):
        prefix = f"{kind}{sep}"
        if subject.startswith(prefix):
            return _id(subject[len(prefix) :])
    return None


def _is_qualified(subject: str | None) -> bool:
    return bool(subject) and any(subject.startswith(f"{k}{sep}") for k in KINDS for sep in "/:")  # type: ignore[union-attr]


def _actor(data: dict[str, Any]) -> str | None:
    for name in ("actor_id", "actor"):
        if found := _id(data.get(name)):
            return found
    for name in sorted(data):
        if name.endswith("_by") and (found := _id(data[name])):
            return found
    return None


def derive(document: dict[str, Any]) -> EntryIndex:
    event = document["event"]
    data = event.get("data")
    payload = data if isinstance(data, dict) else {}
    subject = event.get("subject")
    key = document.get("key")
    domain = str(event.get("type", "")).split(".", 1)[0]
    refs: dict[str, str | None] = {}
    for kind in KINDS:
        found = _id(payload.get(f"{kind}_id")) or _from_subject(subject, kind)
        if found is None and AGGREGATE_OF_DOMAIN.get(domain) == kind:
            bare_subject = None if _is_qualified(subject) else _id(subject)
            found = bare_subject or _id(key)
        refs[kind] = found
    year = payload.get("fiscal_year")
    received_at = parse_time(document["received_at"])
    assert received_at is not None
    return EntryIndex(
        event_id=event["id"],
        source=event["source"],
        type=event["type"],
        event_time=parse_time(event.get("time")),
        subject=subject,
        key=key,
        topic=document["kafka"]["topic"],
        received_at=received_at,
        actor=_actor(payload),
        package_id=refs["package"],
        opd_id=refs["opd"],
        vendor_id=refs["vendor"],
        contract_id=refs["contract"],
        fiscal_year=year if isinstance(year, int) and not isinstance(year, bool) else None,
    )
