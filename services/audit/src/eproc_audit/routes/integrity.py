"""Verification of the chain (admins and auditors) and signing a checkpoint now (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from eproc_audit.checkpoints import sign_checkpoint
from eproc_audit.models import checkpoints
from eproc_audit.routes.deps import ClockDep, KeyDep, VerifierPoolDep
from eproc_audit.routes.public import CheckpointOut, checkpoint_out
from eproc_audit.settings import AuditSettings
from eproc_audit.verification import VerificationReport, verify_chain
from eproc_shared.auth import Role, requires
from eproc_shared.db import session_factory
from eproc_shared.problems import ProblemError
from eproc_shared.service_app import DbSession, Runtime

router = APIRouter(tags=["integrity"])


@router.get(
    "/verify",
    response_model=VerificationReport,
    dependencies=[requires(Role.ADMIN, Role.AUDITOR)],
    summary="Recompute the hash chain and check the signed checkpoints; reports the first bad entry",
)
async def verify(
    runtime: Runtime,
    pool: VerifierPoolDep,
    mode: Annotated[
        Literal["deep", "chain_only"],
        Query(description="deep also checks the query columns against the hashed bytes."),
    ] = "deep",
) -> VerificationReport:
    settings = runtime.settings
    batch = settings.verify_batch_size if isinstance(settings, AuditSettings) else 2000
    sessions = session_factory(runtime.engine, readonly=True)
    return await verify_chain(sessions, batch_size=batch, deep=mode == "deep", pool=pool)


@router.post(
    "/checkpoints",
    response_model=CheckpointOut,
    status_code=201,
    dependencies=[requires(Role.ADMIN)],
    summary="Sign a checkpoint of the current head now (200 with the latest if the head is already signed)",
)
async def sign_now(
    session: DbSession, runtime: Runtime, key: KeyDep, clock: ClockDep, response: Response
) -> CheckpointOut:
    made = await sign_checkpoint(session, key, runtime.outbox, clock())
    row = (await session.execute(select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1))).first()
    if row is None:
        raise ProblemError(409, "Nothing to sign", "The log is empty.", slug="log-empty")
    if made is None:
        response.status_code = 200
    return checkpoint_out(row)
