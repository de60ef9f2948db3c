"""Every event type of the platform, one module per producing domain.

Importing this package registers them all in the catalogue; add a module's import here when
you add the module.
"""

from eproc_shared.events.types import (
    audit,  # noqa: F401
    contract,  # noqa: F401
    identity,  # noqa: F401
    recording,  # noqa: F401
    tender,  # noqa: F401
    vendor,  # noqa: F401
)
