"""The PPK's rating of the vendor: one score per criterion on its scale, and a comment."""

from __future__ import annotations

from collections.abc import Sequence

from eproc_contract.domain import ContractRuleError


def check_scores(scores: Sequence[tuple[str, int, int]], required: Sequence[str]) -> None:
    """``scores`` as (criterion, score, scale_max); every required criterion once, scores within their scale."""
    names = [name for name, _, _ in scores]
    if len(set(names)) != len(names):
        raise ContractRuleError("duplicate-criterion", "Each criterion is scored once.", field="scores")
    missing = [name for name in required if name not in names]
    if missing:
        raise ContractRuleError("criteria-missing", f"Score every criterion: {', '.join(missing)}.", field="scores")
    for index, (name, score, scale_max) in enumerate(scores):
        if not 0 <= score <= scale_max:
            raise ContractRuleError(
                "score-out-of-scale",
                f"The {name} score must be between 0 and {scale_max}.",
                field=f"scores.{index}.score",
            )
