"""Typed events of crafted procurement histories, published as the tender and contract services would."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from audit_test_support import Service

from eproc_shared.events.catalogue import Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import contract as ce
from eproc_shared.events.types import recording as rec
from eproc_shared.events.types import tender as te

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def run_id() -> str:
    return uuid.uuid4().hex[:6]


async def publish(service: Service, payload: Event, key: str) -> Envelope[Any]:
    envelope = Envelope.new(payload, source=f"/eproc/{payload.event_name.split('.')[0]}", key=key)
    return await republish(service, envelope)


async def republish(service: Service, envelope: Envelope[Any]) -> Envelope[Any]:
    """Send an envelope (again: a redelivery carries the same id)."""
    await service.producer.send_and_wait(
        envelope.data.topic, value=envelope.value(), key=envelope.key.encode(), headers=envelope.headers()
    )
    return envelope


def facts(
    package_id: str,
    opd_id: str,
    *,
    method: str = "tender",
    hps: int = 1_000_000_000,
    pagu: int = 1_100_000_000,
    kbli: tuple[str, ...] = ("41011",),
    evaluation: str = "lowest_price",
    year: int = 2026,
) -> te.TenderPackageFacts:
    return te.TenderPackageFacts(
        package_id=package_id,
        code=f"K-{package_id}",
        name=f"Pembangunan {package_id}",
        opd_id=opd_id,
        fiscal_year=year,
        procurement_type="pekerjaan_konstruksi",
        method=method,  # type: ignore[arg-type]
        qualification="pasca",
        envelope_system="one_file",
        evaluation_system=evaluation,  # type: ignore[arg-type]
        contract_type="lumsum",
        pagu=pagu,
        hps=hps,
        kbli_codes=list(kbli),
    )


def announced(f: te.TenderPackageFacts, *, bidding_days: float, at: datetime = T0) -> te.TenderAnnounced:
    return te.TenderAnnounced(
        package=f,
        schedule=[
            te.TenderStageWindow(stage="announcement", starts_at=at, ends_at=at + timedelta(days=1)),
            te.TenderStageWindow(stage="submission", starts_at=at, ends_at=at + timedelta(days=bidding_days)),
        ],
        announced_at=at,
    )


def amended(package_id: str, *, bidding_days: float, at: datetime = T0) -> te.TenderAmended:
    return te.TenderAmended(
        package_id=package_id,
        addendum_number=1,
        reason="Jadwal diperpanjang",
        schedule=[te.TenderStageWindow(stage="submission", starts_at=at, ends_at=at + timedelta(days=bidding_days))],
        documents_changed=False,
        amended_at=at + timedelta(days=1),
    )


def bid(package_id: str, opd_id: str, vendor_id: str, receipt: str) -> te.TenderBidSubmitted:
    return te.TenderBidSubmitted(
        package_id=package_id,
        opd_id=opd_id,
        vendor_id=vendor_id,
        bid_id=f"bid-{uuid.uuid4().hex[:6]}",
        received_at=T0 + timedelta(days=2),
        receipt_sha256=receipt * 64 if len(receipt) == 1 else receipt,
    )


def bid_v2(
    package_id: str,
    opd_id: str,
    vendor_id: str,
    *,
    address: str | None,
    documents: list[str],
    receipt: str | None = None,
) -> te.TenderBidSubmittedV2:
    """A sealed bid as the tender service now reports it: with the submitter's address and document digests."""
    return te.TenderBidSubmittedV2(
        package_id=package_id,
        opd_id=opd_id,
        vendor_id=vendor_id,
        bid_id=f"bid-{uuid.uuid4().hex[:6]}",
        received_at=T0 + timedelta(days=2),
        receipt_sha256=receipt or uuid.uuid4().hex * 2,
        submitter_address=address,
        document_digests=documents,
    )


def recorded(
    record_id: str,
    opd_id: str,
    *,
    value: int,
    revision: int = 1,
    kind: str = "non_tender",
    method: str = "pengadaan_langsung",
    pagu: int | None = None,
    vendor_id: str | None = None,
    kbli: tuple[str, ...] = ("47111",),
    start: date = date(2026, 5, 4),
    year: int = 2026,
) -> rec.TenderPurchaseRecorded:
    """A purchase recorded outside the platform (pencatatan), revision 1 or a correction."""
    return rec.TenderPurchaseRecorded(
        record_id=record_id,
        code=f"CAT-{year}-{record_id[-8:].upper()}",
        revision=revision,
        kind=kind,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        package_name=f"Belanja {record_id}",
        opd_id=opd_id,
        fiscal_year=year,
        procurement_type="barang",
        kbli_codes=list(kbli),
        pagu=pagu if pagu is not None else value,
        realised_value=value,
        vendor_id=vendor_id,
        vendor_name=f"CV {vendor_id}" if vendor_id else None,
        swakelola_type=1 if kind == "swakelola" else None,
        legal_basis="Keputusan Wali Kota tentang status tanggap darurat" if kind == "darurat" else None,
        start_date=start,
        end_date=start + timedelta(days=20),
        proofs=[rec.RecordedProof(name="kuitansi.pdf", sha256="ab" * 32)],
        ppk_id="ppk-1",
        recorded_at=T0 + timedelta(days=100 + revision),
        correction_reason="Nilai realisasi dikoreksi" if revision > 1 else None,
    )


def opened(package_id: str, prices: dict[str, int]) -> te.TenderBidsOpened:
    return te.TenderBidsOpened(
        package_id=package_id,
        envelope="all",
        bidders=sorted(prices),
        prices=[
            te.TenderOpenedPrice(vendor_id=v, vendor_name=f"PT {v}", price=p, receipt_verified=True)
            for v, p in sorted(prices.items())
        ],
        opened_at=T0 + timedelta(days=15),
        opened_by="pokja-1",
    )


def winner(package_id: str, opd_id: str, vendor_id: str, prices: dict[str, int], hps: int) -> te.TenderWinnerAnnounced:
    return te.TenderWinnerAnnounced(
        package_id=package_id,
        opd_id=opd_id,
        winner_vendor_id=vendor_id,
        winner_name=f"PT {vendor_id}",
        winner_npwp="012345678901000",
        winning_price=prices[vendor_id],
        hps=hps,
        reserve_vendor_ids=[],
        results=[
            te.TenderBidResult(vendor_id=v, vendor_name=f"PT {v}", offered_price=p, corrected_price=p, passed=True)
            for v, p in sorted(prices.items())
        ],
        announced_at=T0 + timedelta(days=16),
        objection_ends_at=T0 + timedelta(days=21),
    )


def awarded(f: te.TenderPackageFacts, vendor_id: str, price: int, *, days: float) -> te.TenderAwarded:
    return te.TenderAwarded(
        package=f,
        ppk_id="ppk-1",
        winner=te.TenderAwardWinner(vendor_id=vendor_id, legal_name=f"PT {vendor_id}", npwp="012345678901000"),
        offered_price=price,
        awarded_price=price,
        low_price=False,
        performance_guarantee_base=price,
        reserve_vendor_ids=[],
        sppbj_number=f"SPPBJ/{f.package_id}",
        awarded_at=T0 + timedelta(days=days),
    )


def signed(contract_id: str, package_id: str, opd_id: str, vendor_id: str, value: int) -> ce.ContractSigned:
    return ce.ContractSigned(
        contract_id=contract_id,
        package_id=package_id,
        opd_id=opd_id,
        vendor_id=vendor_id,
        ppk_id="ppk-1",
        contract_number=f"KONTRAK/{contract_id}",
        contract_type="lumsum",
        value=value,
        duration_days=120,
        signatures=[],
        signed_on=date(2026, 4, 1),
    )


def contract_amended(
    contract_id: str, package_id: str, opd_id: str, vendor_id: str, *, original: int, added: int
) -> ce.ContractAmended:
    return ce.ContractAmended(
        contract_id=contract_id,
        package_id=package_id,
        opd_id=opd_id,
        vendor_id=vendor_id,
        amendment_number=1,
        terms_version=2,
        reason="Pekerjaan tambah",
        scope_change="tambah",
        value_delta=added,
        extension_days=0,
        previous_value=original,
        new_value=original + added,
        planned_end=None,
        added_value_total=added,
        signatures=[],
        amended_on=date(2026, 5, 1),
    )


def completed(contract_id: str, package_id: str, opd_id: str, vendor_id: str, value: int) -> ce.ContractCompleted:
    return ce.ContractCompleted(
        contract_id=contract_id,
        package_id=package_id,
        opd_id=opd_id,
        vendor_id=vendor_id,
        ppk_id="ppk-1",
        signed_on=date(2026, 4, 1),
        completed_on=date(2026, 8, 1),
        original_value=value,
        final_value=value,
    )


def public_contract(
    contract_id: str, package_id: str, opd_id: str, vendor_id: str, *, change: str, value: int, hps: int, **extra: Any
) -> ce.ContractPublicUpdated:
    status = {"signed": "signed", "amended": "active", "completed": "completed", "terminated": "terminated"}[change]
    fields: dict[str, Any] = {
        "contract_id": contract_id,
        "package_id": package_id,
        "package_code": f"K-{package_id}",
        "package_name": f"Pembangunan {package_id}",
        "opd_id": opd_id,
        "fiscal_year": 2026,
        "vendor_id": vendor_id,
        "vendor_name": f"PT {vendor_id}",
        "contract_number": f"KONTRAK/{contract_id}",
        "contract_type": "lumsum",
        "original_value": value,
        "current_value": value,
        "hps": hps,
        "status": status,
        "signed_on": date(2026, 4, 1),
        "start_date": date(2026, 4, 2),
        "planned_end": date(2026, 7, 31),
        "handed_over_on": None,
        "ended_on": None,
        "amendments": [],
    } | extra
    return ce.ContractPublicUpdated(
        change=change,  # type: ignore[arg-type]
        contract=ce.PublicContract(**fields),
        changed_at=T0 + timedelta(days=40),
    )
