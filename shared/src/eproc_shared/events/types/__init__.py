"""Every event type of the platform, one module per producing domain.

Importing this package registers them all in the catalogue; add a module's import here when
you add the module.
"""

from eproc_shared.events.types import (
    identity,  # noqa: F401
)
