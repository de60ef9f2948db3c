"""Who is told of what, by the consumer's handlers on a real database (SQLite and PostgreSQL).

The broker path is covered by test_people and test_webhooks; here each handler runs in a transaction
as the consumer runs it, and the queued deliveries are read back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_test_support import package_facts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eproc_notify.consumers import Handlers
from eproc_notify.models import deliveries
from eproc_notify.queueing import Queue
from eproc_notify.rendering import Renderer
from eproc_shared.db import create_engine, session_factory, upgrade
from eproc_shared.events.catalogue import Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import contract, identity, tender

MIGRATIONS = Path(__file__).resolve().parents[1] / "src/eproc_notify/migrations"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine, MIGRATIONS)
    try:
        yield engine
    finally:
        await engine.dispose()


class Run:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)
        self.handlers = Handlers(Queue(Renderer()), lambda: NOW, portal_url="http://portal", default_language="id")
        self.table = self.handlers.table()

    async def apply(self, data: Event, source: str = "/eproc/test") -> Envelope[Any]:
        envelope = Envelope.new(data, source=source, key="k", time=NOW)
        async with self.sessions() as session, session.begin():
            await self.table[envelope.type](session, envelope)
        return envelope

    async def told(self, envelope: Envelope[Any]) -> list[tuple[str, str | None, str | None, str | None]]:
        async with self.sessions() as session:
            c = deliveries.c
            stmt = select(c.channel, c.user_id, c.address, c.subject).where(c.event_id == envelope.id).order_by(c.id)
            return [tuple(r) for r in (await session.execute(stmt)).all()]  # type: ignore[misc]


async def test_contract_steps_reach_the_winner_and_the_ppk(engine: AsyncEngine) -> None:
    run = Run(engine)
    await run.apply(
        identity.VendorUserRegistered(
            user_id="u1", vendor_id="v1", company_name="PT Satu", username="satu", email="satu@vendor.co.id"
        )
    )
    await run.apply(identity.UserCreated(user_id="ppk1", roles=["ppk"], opd_id="dpupr", username="ppk1"))
    await run.apply(tender.TenderAnnounced(package=package_facts("p1", "Jalan Cibodas"), schedule=[], announced_at=NOW))
    drafted = await run.apply(
        contract.ContractDrafted(
            contract_id="c1",
            package_id="p1",
            opd_id="dpupr",
            vendor_id="v1",
            ppk_id="ppk1",
            value=1_400_000_000,
            hps=1_500_000_000,
            pagu=2_000_000_000,
            contract_type=None,
            sppbj_number="027/SPPBJ",
            sppbj_date=date(2026, 3, 1),
            performance_guarantee_amount=70_000_000,
            drafted_at=NOW,
        )
    )
    assert await run.told(drafted) == [
        ("inbox", "u1", None, "Rancangan kontrak siap: Jalan Cibodas"),
        ("email", "u1", "satu@vendor.co.id", "Rancangan kontrak siap: Jalan Cibodas"),
        ("inbox", "ppk1", None, "Rancangan kontrak siap: Jalan Cibodas"),
    ]
    started = await run.apply(
        contract.ContractStarted(
            contract_id="c1",
            package_id="p1",
            opd_id="dpupr",
            vendor_id="v1",
            spmk_number="SPMK-9",
            start_date=date(2026, 3, 9),
            planned_end=date(2026, 7, 6),
            started_at=NOW,
        )
    )
    assert [t[0] for t in await run.told(started)] == ["inbox", "email"]
    # The same event again (a replayed topic under another consumer) queues nothing new.
    async with run.sessions() as session, session.begin():
        await run.table[started.type](session, started)
    assert len(await run.told(started)) == 2


async def test_objections_and_appeals_reach_officials_and_the_objector(engine: AsyncEngine) -> None:
    run = Run(engine)
    for user, roles, opd in (
        ("pokja1", ["pokja"], "dpupr"),
        ("pokja2", ["pokja"], "dinkes"),
        ("ppk1", ["ppk"], "dpupr"),
    ):
        await run.apply(identity.UserCreated(user_id=user, roles=roles, opd_id=opd, username=user))
    for n in (1, 2):
        await run.apply(
            identity.VendorUserRegistered(
                user_id=f"u{n}", vendor_id=f"v{n}", company_name=f"PT {n}", username=f"u{n}", email=f"u{n}@v.co.id"
            )
        )
        await run.apply(
            tender.TenderParticipantRegistered(
                package_id="p1", vendor_id=f"v{n}", vendor_name=f"PT {n}", registered_at=NOW
            )
        )
    answered = await run.apply(
        tender.TenderObjectionAnswered(
            package_id="p1",
            opd_id="dpupr",
            objection_id="o1",
            vendor_id="v1",
            upheld=False,
            consequence="none",
            answer="Evaluasi sudah sesuai dokumen.",
            answered_at=NOW,
            late=False,
        )
    )
    async with run.sessions() as session:
        rows = (
            await session.execute(
                select(deliveries.c.user_id, deliveries.c.body).where(
                    deliveries.c.event_id == answered.id, deliveries.c.channel == "inbox"
                )
            )
        ).all()
    bodies = dict(rows)  # type: ignore[arg-type]
    assert "Evaluasi sudah sesuai dokumen." in bodies["u1"]  # the objector reads the answer
    assert "Evaluasi sudah sesuai" not in bodies["u2"]
    assert "ditolak" in bodies["u2"]
    appeal = await run.apply(
        tender.TenderAppealFiled(
            package_id="p1",
            opd_id="dpupr",
            appeal_id="a1",
            objection_id="o1",
            vendor_id="v1",
            reason="Banding",
            guarantee_amount=15_000_000,
            guarantee_required=15_000_000,
            filed_at=NOW,
            answer_due_at=NOW + timedelta(days=14),
        )
    )
    assert sorted(u for _, u, _, _ in await run.told(appeal)) == ["pokja1", "ppk1"]  # not the other OPD's Pokja


async def test_a_package_handed_over_reaches_its_pokja_members_and_no_one_else(engine: AsyncEngine) -> None:
    run = Run(engine)
    for user_id, opd in (("pk1", "ukpbj"), ("pk2", "ukpbj"), ("pk3", "ukpbj"), ("pk9", "ukpbj")):
        await run.apply(identity.UserCreated(user_id=user_id, roles=["pokja"], opd_id=opd, username=user_id))
    assigned = await run.apply(
        tender.TenderPackageAssigned(
            package_id="p7",
            code="P7",
            name="Rehabilitasi Pasar Anyar",
            opd_id="dpupr",
            method="tender",
            ppk_id="ppk1",
            assigned_role="pokja",
            assignee_ids=["pk1", "pk2", "pk3"],
            assigned_at=NOW,
        )
    )
    told = await run.told(assigned)
    assert sorted({user for _, user, _, _ in told}) == ["pk1", "pk2", "pk3"], "the member left out hears nothing"
    inbox = [subject for channel, _, _, subject in told if channel == "inbox"]
    assert inbox == ["Paket menunggu Anda: Rehabilitasi Pasar Anyar"] * 3


async def test_a_vendor_signature_tells_the_ppk_that_its_own_now_waits(engine: AsyncEngine) -> None:
    run = Run(engine)
    await run.apply(identity.UserCreated(user_id="ppk1", roles=["ppk"], opd_id="dpupr", username="ppk1"))
    await run.apply(
        identity.VendorUserRegistered(
            user_id="u1", vendor_id="v1", company_name="PT Satu", username="satu", email="satu@vendor.co.id"
        )
    )
    await run.apply(tender.TenderAnnounced(package=package_facts("p1", "Jalan Cibodas"), schedule=[], announced_at=NOW))
    signed = await run.apply(
        contract.ContractPartySigned(
            contract_id="c1",
            package_id="p1",
            opd_id="dpupr",
            vendor_id="v1",
            ppk_id="ppk1",
            signature=contract.ContractSignature(party="vendor", signer_id="u1", signed_at=NOW, order=1),
            awaiting="ppk",
        )
    )
    told = await run.told(signed)
    assert {user for _, user, _, _ in told} == {"ppk1"}, "only the PPK, whose signature now waits"
    assert [s for c, _, _, s in told if c == "inbox"] == ["Tanda tangan Anda ditunggu: Jalan Cibodas"]
