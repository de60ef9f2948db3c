"""The topic configuration (topics.toml) and its creation on the broker."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from eproc_shared.settings import BrokerSettings

log = logging.getLogger(__name__)

Visibility = Literal["internal", "public"]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    owner: str
    visibility: Visibility
    partitions: int
    replication_factor: int
    retention_ms: int
    min_insync_replicas: int

    def kafka_config(self) -> dict[str, str]:
        # min.insync.replicas above the replication factor would make every write fail.
        insync = min(self.min_insync_replicas, self.replication_factor)
        return {"retention.ms": str(self.retention_ms), "min.insync.replicas": str(insync)}


def dlq_topic(consumer_name: str) -> str:
    return f"{consumer_name}.dlq"


def load_topics(settings: BrokerSettings | None = None) -> dict[str, TopicSpec]:
    """Read topics.toml (bundled or ``KAFKA_TOPICS_FILE``) and apply the partition/replication overrides."""
    settings = settings or BrokerSettings()
    if settings.topics_file:
        raw = Path(settings.topics_file).read_bytes()
    else:
        raw = resources.files("eproc_shared").joinpath("topics.toml").read_bytes()
    data = tomllib.loads(raw.decode())
    defaults = data.get("defaults", {})
    specs: dict[str, TopicSpec] = {}
    for name, entry in data.get("topics", {}).items():
        merged = {**defaults, **entry}
        if merged["visibility"] not in ("internal", "public"):
            raise ValueError(f"topic {name}: visibility must be 'internal' or 'public'")
        specs[name] = TopicSpec(
            name=name,
            owner=merged["owner"],
            visibility=merged["visibility"],
            partitions=settings.topic_partitions or int(merged["partitions"]),
            replication_factor=settings.topic_replication_factor or int(merged["replication_factor"]),
            retention_ms=int(merged["retention_ms"]),
            min_insync_replicas=int(merged["min_insync_replicas"]),
        )
    return specs
