"""The event catalogue, the CloudEvents envelope and the published contract (AsyncAPI, frozen schemas)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from eproc_shared.events import CATALOGUE
from eproc_shared.events.asyncapi import build, event_schema, render
from eproc_shared.events.catalogue import Catalogue, CatalogueError, Event, private
from eproc_shared.events.envelope import Envelope, EnvelopeError, UnknownEventType
from eproc_shared.testing import isolated_catalogue

ROOT = Path(__file__).resolve().parents[2]


def test_public_topic_refuses_private_fields() -> None:
    catalogue, topic = isolated_catalogue(visibility="public")
    with pytest.raises(CatalogueError, match="private fields"):

        @catalogue.register("test.vendor_contact", 1, topic)
        class VendorContact(Event):
            vendor_id: str
            phone: str = private(description="personal data")


def test_nested_private_fields_are_found_too() -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        nik: str = private()

    catalogue, topic = isolated_catalogue(visibility="public")
    with pytest.raises(CatalogueError, match=r"people\.nik"):

        @catalogue.register("test.people", 1, topic)
        class People(Event):
            people: list[Person]


def test_a_published_type_cannot_be_registered_twice_or_on_an_unknown_topic() -> None:
    catalogue, topic = isolated_catalogue()

    @catalogue.register("test.thing", 1, topic)
    class ThingV1(Event):
        name: str

    with pytest.raises(CatalogueError, match="new version"):

        @catalogue.register("test.thing", 1, topic)
        class ThingAgain(Event):
            name: str
            extra: int

    @catalogue.register("test.thing", 2, topic)
    class ThingV2(Event):
        name: str
        extra: int

    assert catalogue.model_for("test.thing.v1") is ThingV1
    assert catalogue.model_for("test.thing.v2") is ThingV2
    with pytest.raises(CatalogueError, match=r"not in topics\.toml"):
        catalogue.register("test.other", 1, "no.such.topic")(type("Other", (Event,), {"__annotations__": {"a": int}}))


def test_envelope_round_trip_in_kafka_binary_mode() -> None:
    catalogue, topic = isolated_catalogue()

    @catalogue.register("test.priced", 1, topic)
    class Priced(Event):
        package_id: str
        amount_rupiah: int

    jakarta = timezone(timedelta(hours=7))
    envelope = Envelope.new(
        Priced(package_id="P-1", amount_rupiah=1_500_000_000),
        source="/eproc/test",
        key="P-1",
        subject="bid/9",
        time=datetime(2026, 11, 21, 16, 0, tzinfo=jakarta),
        trace={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    headers = dict(envelope.headers())
    assert headers["ce_time"] == b"2026-11-21T09:00:00Z", "times travel in UTC"
    assert headers["ce_subject"] == b"bid/9"
    parsed = Envelope.from_record(b"P-1", envelope.value(), envelope.headers(), catalogue)
    assert parsed.data == Priced(package_id="P-1", amount_rupiah=1_500_000_000)
    assert parsed.time == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert parsed.trace["traceparent"].startswith("00-4bf92f")
    assert parsed.to_json()["data"] == {"package_id": "P-1", "amount_rupiah": 1_500_000_000}

    with pytest.raises(UnknownEventType):
        Envelope.from_record(b"P-1", envelope.value(), envelope.headers(), Catalogue(topics=catalogue.topics))
    with pytest.raises(EnvelopeError, match="payload"):
        Envelope.from_record(b"P-1", b'{"package_id": "P-1", "amount_rupiah": 1.5}', envelope.headers(), catalogue)
    with pytest.raises(EnvelopeError, match="missing"):
        Envelope.from_record(b"P-1", envelope.value(), [("ce_type", b"test.priced.v1")], catalogue)
    with pytest.raises(ValueError, match="timezone-aware"):
        Envelope.new(Priced(package_id="P", amount_rupiah=1), source="s", key="P", time=datetime(2026, 1, 1))


def test_asyncapi_document_is_current_and_refs_resolve() -> None:
    committed = (ROOT / "docs" / "asyncapi.json").read_text()
    assert committed == render(), "docs/asyncapi.json is stale: run `make docs` and commit it"
    document = json.loads(committed)
    assert document["asyncapi"] == "3.0.0"
    topics = {channel["address"] for channel in document["channels"].values()}
    assert topics == set(CATALOGUE.topics)

    def resolve(ref: str) -> object:
        node: object = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # type: ignore[index]
        return node

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    public = build(public_only=True)
    assert all("public" in [t["name"] for t in c["tags"]] for c in public["channels"].values())


def test_published_event_types_never_change_shape() -> None:
    """Each type's payload schema is frozen in docs/events when first published; changing it needs a new version."""
    frozen = ROOT / "docs" / "events"
    for model in CATALOGUE:
        path = frozen / f"{model.type_name()}.schema.json"
        assert path.exists(), f"{model.type_name()} has no frozen schema: run `make docs` and commit docs/events"
        assert path.read_text() == event_schema(model), (
            f"{model.type_name()} changed shape after publication; restore it and register "
            f"{model.event_name}.v{model.version + 1} for the new shape"
        )
    known = {p.name.removesuffix(".schema.json") for p in frozen.glob("*.schema.json")} if frozen.exists() else set()
    gone = known - {model.type_name() for model in CATALOGUE}
    assert not gone, f"published event types were removed from the catalogue: {sorted(gone)}"
