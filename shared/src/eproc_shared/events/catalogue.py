"""The one catalogue of event types.

Every event type is a pydantic model registered here under a versioned name such as
``tender.announced.v1`` and bound to one topic. A published type never changes shape:
a new shape is a new class with the next version, and both stay registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from eproc_shared.topics import TopicSpec, load_topics

PRIVATE_MARK = "x-eproc-private"


def private(**kwargs: Any) -> Any:
    """A field that carries personal or sealed data: allowed on internal topics only."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[PRIVATE_MARK] = True
    return Field(json_schema_extra=extra, **kwargs)


class Event(BaseModel):
    """Base of every event payload. Subclasses are registered with :func:`event`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str] = ""
    version: ClassVar[int] = 0
    topic: ClassVar[str] = ""

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.event_name}.v{cls.version}"


E = TypeVar("E", bound=type[Event])


class CatalogueError(ValueError):
    pass


class Catalogue:
    """Registry of event types; validates each against the topic configuration when registered."""

    def __init__(self, topics: dict[str, TopicSpec] | None = None) -> None:
        self._types: dict[str, type[Event]] = {}
        self._topics = topics

    @property
    def topics(self) -> dict[str, TopicSpec]:
        if self._topics is None:
            self._topics = load_topics()
        return self._topics

    def register(self, name: str, version: int, topic: str) -> Callable[[E], E]:
        def decorate(cls: E) -> E:
            if not issubclass(cls, Event):
                raise CatalogueError(f"{cls.__name__} must subclass Event")
            if version < 1:
                raise CatalogueError(f"{name}: versions start at 1")
            spec = self.topics.get(topic)
            if spec is None:
                raise CatalogueError(f"{name}.v{version}: topic {topic!r} is not in topics.toml")
            cls.event_name, cls.version, cls.topic = name, version, topic
            type_name = cls.type_name()
            if type_name in self._types:
                raise CatalogueError(f"{type_name} is registered twice; publish a new version instead")
            if spec.visibility == "public":
                leaks = list(_private_fields(cls))
                if leaks:
                    raise CatalogueError(f"{type_name} goes to public topic {topic} but has private fields {leaks}")
            self._types[type_name] = cls
            return cls

        return decorate

    def model_for(self, type_name: str) -> type[Event] | None:
        return self._types.get(type_name)

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(sorted(self._types.values(), key=lambda c: c.type_name()))

    def __len__(self) -> int:
        return len(self._types)

    def on_topic(self, topic: str) -> list[type[Event]]:
        return [cls for cls in self if cls.topic == topic]


def _private_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for field_name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get(PRIVATE_MARK):
            yield prefix + field_name
        for nested in _nested_models(info.annotation):
            yield from _private_fields(nested, prefix=f"{prefix}{field_name}.")


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _nested_models(arg)


CATALOGUE = Catalogue()


def event(name: str, version: int, topic: str) -> Callable[[E], E]:
    """Register an event type in the platform catalogue."""
    return CATALOGUE.register(name, version, topic)
