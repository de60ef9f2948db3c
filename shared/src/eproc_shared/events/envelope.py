"""CloudEvents 1.0 envelope in Kafka binary mode.

Attributes travel as ``ce_*`` headers, the payload as the JSON record value, and the record
key is the aggregate id so that one aggregate's events stay in order on one partition.
W3C trace context travels as ``traceparent``/``tracestate`` headers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from eproc_shared.events.catalogue import Catalogue, Event

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
TRACE_HEADERS = ("traceparent", "tracestate")

T = TypeVar("T", bound=Event)
Headers = Sequence[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A record that is not a valid event of a known type: it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Envelope(Generic[T]):
    id: str
    source: str
    type: str
    time: datetime
    key: str
    data: T
    subject: str | None = None
    trace: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(
        cls,
        data: T,
        *,
        source: str,
        key: str,
        subject: str | None = None,
        time: datetime | None = None,
        trace: dict[str, str] | None = None,
    ) -> Envelope[T]:
        when = time or datetime.now(UTC)
        if when.tzinfo is None:
            raise ValueError("event time must be timezone-aware")
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=type(data).type_name(),
            time=when.astimezone(UTC),
            key=key,
            data=data,
            subject=subject,
            trace=dict(trace or {}),
        )

    @property
    def topic(self) -> str:
        return type(self.data).topic

    def value(self) -> bytes:
        return self.data.model_dump_json().encode()

    def headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", format_time(self.time).encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject:
            headers.append(("ce_subject", self.subject.encode()))
        headers.extend((name, value.encode()) for name, value in self.trace.items() if name in TRACE_HEADERS)
        return headers

    @classmethod
    def from_record(
        cls, key: bytes | None, value: bytes | None, headers: Headers, catalogue: Catalogue
    ) -> Envelope[Any]:
        """Parse a Kafka record. Raises EnvelopeError for anything that is not a valid known event."""
        attrs = decode_headers(headers)
        missing = [name for name in ("ce_id", "ce_source", "ce_type", "ce_specversion") if name not in attrs]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        if attrs["ce_specversion"] != SPECVERSION:
            raise EnvelopeError(f"unsupported specversion {attrs['ce_specversion']!r}")
        model = catalogue.model_for(attrs["ce_type"])
        if model is None:
            raise UnknownEventType(attrs["ce_type"])
        try:
            data = model.model_validate_json(value or b"")
        except ValidationError as exc:
            raise EnvelopeError(f"payload of {attrs['ce_type']} is invalid: {exc}") from exc
        try:
            when = datetime.fromisoformat(attrs["ce_time"]) if "ce_time" in attrs else datetime.now(UTC)
        except ValueError as exc:
            raise EnvelopeError(f"ce_time is not RFC 3339: {attrs['ce_time']!r}") from exc
        return cls(
            id=attrs["ce_id"],
            source=attrs["ce_source"],
            type=attrs["ce_type"],
            time=when,
            key=(key or b"").decode(errors="replace"),
            data=data,
            subject=attrs.get("ce_subject"),
            trace={name: attrs[name] for name in TRACE_HEADERS if name in attrs},
        )

    def to_json(self) -> dict[str, Any]:
        """Structured-mode form, for logs, HTTP feeds and the audit log."""
        doc: dict[str, Any] = {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": format_time(self.time),
            "datacontenttype": CONTENT_TYPE,
            "data": json.loads(self.value()),
        }
        if self.subject:
            doc["subject"] = self.subject
        return doc


class UnknownEventType(EnvelopeError):
    """A valid envelope whose type this process does not know (a newer version, another service's type)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"unknown event type {type_name!r}")
        self.type_name = type_name


def decode_headers(headers: Headers) -> dict[str, str]:
    return {name: raw.decode(errors="replace") for name, raw in headers if raw is not None}


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
