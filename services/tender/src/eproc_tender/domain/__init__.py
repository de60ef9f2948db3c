"""The tender domain in plain Python: it knows nothing of HTTP, SQL or Kafka."""


class DomainError(Exception):
    """A rule refused an action. ``field`` names the offending input when there is one."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class Conflict(DomainError):
    """The action is not allowed in the package's current state or stage (409)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field, status=409)
