"""Tables of the tender service (its own database; no other service reads them)."""

from sqlalchemy import MetaData

from eproc_shared.messaging_tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
