"""GET /asyncapi.json: the AsyncAPI 3.0 document of the public topics, open to anyone, cacheable, linked from
the API document, and with nothing of the internal topics in it."""

from __future__ import annotations

import json
from typing import Any

from eproc_shared.events import CATALOGUE
from eproc_shared.events.asyncapi import build
from eproc_shared.events.catalogue import PRIVATE_MARK

ASYNCAPI_3_ROOT = {"asyncapi", "id", "info", "servers", "defaultContentType", "channels", "operations", "components"}


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are published: {ref}"
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        assert isinstance(node, dict), f"unresolved reference {ref}"
        assert part in node, f"unresolved reference {ref}"
        node = node[part]
    return node


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def check_asyncapi_3_shape(document: dict[str, Any]) -> None:
    assert set(document) <= ASYNCAPI_3_ROOT, set(document) - ASYNCAPI_3_ROOT
    assert document["asyncapi"] == "3.0.0"
    assert isinstance(document["info"]["title"], str)
    assert isinstance(document["info"]["version"], str)
    for server in document.get("servers", {}).values():
        assert server["host"]
        assert server["protocol"] == "kafka"
    for channel in document["channels"].values():
        assert isinstance(channel["address"], str)
        for reference in channel["messages"].values():
            assert set(reference) == {"$ref"}
            message = resolve(document, reference["$ref"])
            assert message["payload"]
            assert message["contentType"] == "application/json"
    for operation in document["operations"].values():
        assert operation["action"] in ("send", "receive")
        channel_ref = operation["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/")
        resolve(document, channel_ref)
        for reference in operation["messages"]:  # v3: an operation's messages are its channel's
            assert reference["$ref"].startswith(channel_ref + "/messages/")
            resolve(document, reference["$ref"])
    for node in walk(document):
        if isinstance(node.get("$ref"), str):
            resolve(document, node["$ref"])


async def test_the_public_asyncapi_document_is_open_cacheable_and_public_only(make_stack: Any) -> None:
    stack = await make_stack(services=())
    client = stack.client
    answer = await client.get("/asyncapi.json")  # anonymous
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"].startswith("public, max-age=")
    etag = answer.headers["etag"]
    for condition in (etag, f"W/{etag}", f'"other", {etag}'):
        unchanged = await client.get("/asyncapi.json", headers={"If-None-Match": condition})
        assert unchanged.status_code == 304
        assert unchanged.headers["etag"] == etag
        assert not unchanged.content
    assert (await client.get("/asyncapi.json", headers={"If-None-Match": '"other"'})).status_code == 200
    admin = await stack.as_role("admin")
    key = await client.post("/admin/api-keys", json={"name": "monitor", "scopes": ["public:read"]}, headers=admin)
    assert (await client.get("/asyncapi.json", headers={"X-API-Key": key.json()["key"]})).content == answer.content

    document = answer.json()
    assert document == build(public_only=True)
    check_asyncapi_3_shape(document)

    public_topics = {name for name, spec in CATALOGUE.topics.items() if spec.visibility == "public"}
    internal_topics = set(CATALOGUE.topics) - public_topics
    assert {c["address"] for c in document["channels"].values()} == public_topics
    assert all([t["name"] for t in c["tags"]] == ["public"] for c in document["channels"].values())
    published_types = {m["name"] for m in document["components"]["messages"].values()}
    assert published_types == {m.type_name() for m in CATALOGUE if m.topic in public_topics}
    assert published_types, "the catalogue has public event types"
    # Nothing of the internal topics: not their names, not their types, not a private field or its marker.
    text = answer.text
    assert not [topic for topic in internal_topics if topic in text]
    internal_models = {m.__name__ for m in CATALOGUE if m.topic in internal_topics}
    assert not internal_models & set(document["components"]["schemas"])
    assert "x-private" not in text
    assert PRIVATE_MARK not in text
    # The same builder marks private fields x-private (the full document has them): the check above can fail.
    assert "x-private" in json.dumps(build())

    # The API document points at it.
    openapi = (await client.get("/openapi.json")).json()
    assert openapi["externalDocs"]["url"] == "/asyncapi.json"
