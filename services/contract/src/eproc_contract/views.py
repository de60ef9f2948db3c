"""What a contract looks like to its parties, and to the public."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_contract.models import (
    amendments,
    guarantees,
    handovers,
    payments,
    penalties,
    progress_reports,
    ratings,
    signatures,
    terms_versions,
)
from eproc_contract.store import applied_amendments
from eproc_shared.events.types.contract import ContractSignature, PublicAmendment, PublicContract

CONTRACT_FIELDS = (
    "id", "package_id", "package_code", "package_name", "opd_id", "satker", "fiscal_year", "procurement_type",
    "method", "location", "kbli_code", "ppk_id", "vendor_id", "vendor_name", "vendor_npwp", "hps", "pagu",
    "awarded_price", "low_price", "performance_guarantee_base", "performance_guarantee_amount",
    "reserve_vendor_ids", "sppbj_number", "sppbj_date", "proposed_contract_type", "original_value",
    "current_value", "added_value_total", "paid_total", "retention_held", "penalty_amount", "status", "terms",
    "terms_version", "signed_on", "spmk_number", "start_date", "planned_end", "handed_over_on", "ended_on",
    "end_reason", "fault_party", "legal_basis", "blacklist_recommended", "replaces_contract_id",
    "replaced_by_contract_id", "created_at", "updated_at",
)  # fmt: skip


async def _rows(session: AsyncSession, table: Any, contract_id: str, *order: Any) -> list[dict[str, Any]]:
    stmt = select(table).where(table.c.contract_id == contract_id).order_by(*order)
    return [_times(dict(r)) for r in (await session.execute(stmt)).mappings().all()]


def _times(row: dict[str, Any]) -> dict[str, Any]:
    return {k: aware(v) if isinstance(v, datetime) else v for k, v in row.items()}


async def full_view(session: AsyncSession, contract: RowMapping) -> dict[str, Any]:
    cid = contract["id"]
    view = _times({name: contract[name] for name in CONTRACT_FIELDS})
    view["terms_versions"] = await _rows(session, terms_versions, cid, terms_versions.c.version)
    view["signatures"] = await _rows(session, signatures, cid, signatures.c.amendment_number, signatures.c.seq)
    view["guarantees"] = await _rows(session, guarantees, cid, guarantees.c.submitted_at)
    view["progress"] = await _rows(session, progress_reports, cid, progress_reports.c.reported_at)
    view["payments"] = await _rows(session, payments, cid, payments.c.recorded_at)
    view["penalties"] = await _rows(session, penalties, cid, penalties.c.assessed_at)
    view["amendments"] = await _rows(session, amendments, cid, amendments.c.number)
    view["handovers"] = await _rows(session, handovers, cid, handovers.c.recorded_at)
    rating = await _rows(session, ratings, cid, ratings.c.rated_at)
    view["rating"] = rating[0] if rating else None
    return view


async def public_record(session: AsyncSession, contract: RowMapping) -> PublicContract:
    amended = await applied_amendments(session, contract["id"])
    terms = contract["terms"] or {}
    return PublicContract(
        contract_id=contract["id"],
        package_id=contract["package_id"],
        package_code=contract["package_code"],
        package_name=contract["package_name"],
        opd_id=contract["opd_id"],
        fiscal_year=contract["fiscal_year"],
        vendor_id=contract["vendor_id"],
        vendor_name=contract["vendor_name"],
        contract_number=terms.get("contract_number"),
        contract_type=terms.get("contract_type") or contract["proposed_contract_type"],
        original_value=contract["original_value"],
        current_value=contract["current_value"],
        hps=contract["hps"],
        status=contract["status"],
        signed_on=contract["signed_on"],
        start_date=contract["start_date"],
        planned_end=contract["planned_end"],
        handed_over_on=contract["handed_over_on"],
        ended_on=contract["ended_on"],
        amendments=[
            PublicAmendment(
                number=a["number"],
                reason=a["reason"],
                value_delta=a["value_delta"],
                extension_days=a["extension_days"],
                new_value=_new_value(amended, a["number"], contract["original_value"]),
                amended_on=a["applied_on"],
            )
            for a in amended
        ],
        replaces_contract_id=contract["replaces_contract_id"],
    )


def _new_value(amended: list[RowMapping], number: int, original: int) -> int:
    return original + sum(a["value_delta"] for a in amended if a["number"] <= number)


async def signature_list(session: AsyncSession, contract_id: str, amendment_number: int) -> list[ContractSignature]:
    stmt = (
        select(signatures)
        .where(signatures.c.contract_id == contract_id, signatures.c.amendment_number == amendment_number)
        .order_by(signatures.c.seq)
    )
    return [
        ContractSignature(party=s["party"], signer_id=s["signer_id"], signed_at=aware(s["signed_at"]), order=s["seq"])
        for s in (await session.execute(stmt)).mappings().all()
    ]


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
