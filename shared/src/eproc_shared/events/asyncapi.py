"""AsyncAPI 3.0 document generated from the catalogue and topics.toml (`make docs`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from eproc_shared.events.catalogue import CATALOGUE, PRIVATE_MARK, Catalogue, Event

CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary mode, plus W3C trace context.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Unique per source; consumers de-duplicate on (source, id)."},
        "ce_source": {"type": "string", "description": "The producing service, for example /eproc/tender."},
        "ce_type": {"type": "string", "description": "Versioned event type, for example tender.announced.v1."},
        "ce_time": {"type": "string", "format": "date-time", "description": "UTC, RFC 3339."},
        "ce_subject": {"type": "string", "description": "What the event is about, when narrower than the key."},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context of the change that caused the event."},
    },
}


def build(catalogue: Catalogue = CATALOGUE, version: str = "1.0.0", public_only: bool = False) -> dict[str, Any]:
    """The document; ``public_only`` leaves out internal topics (what the gateway shows outsiders)."""
    topics = [t for t in catalogue.topics.values() if t.visibility == "public" or not public_only]
    models = [m for m in catalogue if any(m.topic == t.name for t in topics)]
    _, schema = models_json_schema(
        [(model, "serialization") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = schema.get("$defs", {})
    _strip_private_marks(schemas)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in sorted(topics, key=lambda t: t.name):
        channel_id = topic.name.replace(".", "_")
        channel_messages = {}
        for model in catalogue.on_topic(topic.name):
            message_id = model.type_name().replace(".", "_")
            messages[message_id] = {
                "name": model.type_name(),
                "title": model.__name__,
                "summary": (model.__doc__ or "").strip().split("\n")[0],
                "description": (model.__doc__ or "").strip(),
                "contentType": "application/json",
                "headers": CE_HEADERS,
                "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
                "bindings": {"kafka": {"key": {"type": "string", "description": "Aggregate id (ordering key)."}}},
            }
            channel_messages[message_id] = {"$ref": f"#/components/messages/{message_id}"}
        public = topic.visibility == "public"
        channels[channel_id] = {
            "address": topic.name,
            "title": topic.name,
            "description": (
                f"Written by the {topic.owner} service. "
                + (
                    "Public: open to outside systems; carries nothing private or sealed."
                    if public
                    else "Internal: service to service; may carry personal or sealed data; not open to outside systems."
                )
            ),
            "messages": channel_messages,
            "bindings": {"kafka": {"topic": topic.name, "partitions": topic.partitions}},
            "tags": [{"name": topic.visibility}],
        }
        operations[f"receive_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Consume {topic.name}",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel_messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Open e-procurement platform: events",
            "version": version,
            "description": (
                "Every event the platform publishes, as CloudEvents 1.0 in Kafka binary mode. "
                "Types are versioned (`name.vN`): a published version never changes shape; a new shape is a new "
                "version, and both are published for as long as consumers need. Record keys are aggregate ids, "
                "so one aggregate's events keep their order. Outside systems read the public topics only."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "kafka-bootstrap:9092",
                "protocol": "kafka",
                "description": "The city's Kafka cluster; ask the operator for the bootstrap address and credentials.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _strip_private_marks(node: Any) -> None:
    """Replace the internal marker with a readable flag in the published schema."""
    if isinstance(node, dict):
        if node.pop(PRIVATE_MARK, None):
            node["x-private"] = True
        for value in node.values():
            _strip_private_marks(value)
    elif isinstance(node, list):
        for value in node:
            _strip_private_marks(value)


def render(catalogue: Catalogue = CATALOGUE) -> str:
    return json.dumps(build(catalogue), indent=2) + "\n"


def event_schema(model: type[Event]) -> str:
    """The payload schema of one event type, as frozen in docs/events/ once published."""
    return json.dumps(model.model_json_schema(mode="serialization"), indent=2, sort_keys=True) + "\n"


def freeze_new_types(folder: Path, catalogue: Catalogue = CATALOGUE) -> list[str]:
    """Write the schema of each type that has none yet; never rewrite an existing one."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for model in catalogue:
        path = folder / f"{model.type_name()}.schema.json"
        if not path.exists():
            path.write_text(event_schema(model))
            written.append(model.type_name())
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the AsyncAPI document of every event type.")
    parser.add_argument("--output", type=Path, default=Path("docs/asyncapi.json"))
    parser.add_argument("--frozen", type=Path, default=Path("docs/events"), help="published payload schemas")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render())
    for name in freeze_new_types(args.frozen):
        print(f"froze the schema of {name} in {args.frozen}")


if __name__ == "__main__":
    main()
