"""The terms of a contract (what both parties sign) and their checks.

Each signed version is kept: version 1 at signing, one more per amendment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from eproc_contract.domain import ContractRuleError, contract_types
from eproc_contract.domain.money import BPS, share_bps


@dataclass(frozen=True)
class Milestone:
    code: str
    name: str


@dataclass(frozen=True)
class Termin:
    """A payment instalment, due when its milestone is reported at 100%."""

    termin: int
    description: str
    share_bps: int
    milestone: str


@dataclass(frozen=True)
class Terms:
    contract_number: str
    contract_type: str
    duration_days: int
    scope: str
    milestones: list[Milestone] = field(default_factory=list)
    payment_plan: list[Termin] = field(default_factory=list)
    retention_bps: int = 0
    advance_payment_amount: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Terms:
        return cls(
            **{
                **data,
                "milestones": [Milestone(**m) for m in data.get("milestones", [])],
                "payment_plan": [Termin(**t) for t in data.get("payment_plan", [])],
            }
        )

    def termin(self, number: int) -> Termin | None:
        return next((t for t in self.payment_plan if t.termin == number), None)


@dataclass(frozen=True)
class TermLimits:
    max_retention_bps: int
    max_advance_bps: int
    max_duration_days: int


def check_terms(terms: Terms, *, value: int, procurement_type: str | None, limits: TermLimits) -> None:
    """Raises ContractRuleError naming the first field that breaks a rule."""
    if terms.contract_type not in contract_types.CONTRACT_TYPES:
        known = ", ".join(contract_types.CONTRACT_TYPES)
        raise ContractRuleError(
            "unknown-contract-type", f"Contract type must be one of: {known}.", field="contract_type"
        )
    if not contract_types.fits(terms.contract_type, procurement_type):
        raise ContractRuleError(
            "contract-type-not-allowed",
            f"A {terms.contract_type} contract is not allowed for {procurement_type}.",
            field="contract_type",
        )
    if not 1 <= terms.duration_days <= limits.max_duration_days:
        raise ContractRuleError(
            "invalid-duration",
            f"The duration must be between 1 and {limits.max_duration_days} days.",
            field="duration_days",
        )
    codes = [m.code for m in terms.milestones]
    if not codes:
        raise ContractRuleError("milestones-required", "At least one milestone is needed.", field="milestones")
    if len(set(codes)) != len(codes):
        raise ContractRuleError("duplicate-milestone", "Milestone codes must be unique.", field="milestones")
    plan = terms.payment_plan
    if not plan:
        raise ContractRuleError("payment-plan-required", "At least one termin is needed.", field="payment_plan")
    for index, termin in enumerate(plan):
        if termin.termin != index + 1:
            raise ContractRuleError(
                "termin-order", "Termins are numbered 1, 2, 3... in order.", field=f"payment_plan.{index}.termin"
            )
        if termin.milestone not in codes:
            raise ContractRuleError(
                "unknown-milestone",
                f"Termin {termin.termin} refers to milestone {termin.milestone!r}, which is not in milestones.",
                field=f"payment_plan.{index}.milestone",
            )
        if termin.share_bps <= 0:
            raise ContractRuleError(
                "invalid-share", "A termin's share must be positive.", field=f"payment_plan.{index}.share_bps"
            )
    if sum(t.share_bps for t in plan) != BPS:
        raise ContractRuleError(
            "plan-not-whole", "The termins' shares must add up to 10000 bps (100%).", field="payment_plan"
        )
    if not 0 <= terms.retention_bps <= limits.max_retention_bps:
        raise ContractRuleError(
            "invalid-retention",
            f"Retention must be between 0 and {limits.max_retention_bps} bps.",
            field="retention_bps",
        )
    if not 0 <= terms.advance_payment_amount <= share_bps(value, limits.max_advance_bps):
        raise ContractRuleError(
            "advance-too-high",
            f"The advance payment may be at most {limits.max_advance_bps} bps of the value "
            f"(Rp{share_bps(value, limits.max_advance_bps)}).",
            field="advance_payment_amount",
        )


def planned_termin_amount(terms: Terms, number: int, value: int) -> int:
    """The planned amount of a termin: its share of the value, rounded down; the last takes the remainder."""
    plan = terms.payment_plan
    if number == plan[-1].termin:
        return value - sum(share_bps(value, t.share_bps) for t in plan[:-1])
    termin = terms.termin(number)
    return share_bps(value, termin.share_bps) if termin else 0
