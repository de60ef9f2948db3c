"""The contract domain in plain Python: rules, states and arithmetic, with no HTTP or Kafka."""

from __future__ import annotations


class ContractRuleError(ValueError):
    """The request breaks a contract rule (answered 422, naming ``field`` when there is one)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class StateConflict(ContractRuleError):
    """The action does not fit the contract's current state (answered 409)."""
