"""Events: the public contract between services and with outside systems."""

from eproc_shared.events import types as _types  # noqa: F401  (registers every event type)
from eproc_shared.events.catalogue import CATALOGUE, Catalogue, Event, event, private
from eproc_shared.events.envelope import Envelope, EnvelopeError

__all__ = ["CATALOGUE", "Catalogue", "Envelope", "EnvelopeError", "Event", "event", "private"]
