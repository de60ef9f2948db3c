"""Operations an admin may trigger by hand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from eproc_shared.auth import Role, requires
from eproc_shared.service_app import Runtime
from eproc_vendor.deps import get_clock
from eproc_vendor.sweeps import sweep

router = APIRouter(tags=["operations"], dependencies=[requires(Role.ADMIN)])


@router.post("/jobs/sweep", summary="Check expiries and blacklist ends now (it also runs periodically)")
async def run_sweep(request: Request, runtime: Runtime) -> dict[str, Any]:
    report = await sweep(runtime.sessions, runtime.outbox, get_clock(request))
    return {"day": report.day.isoformat(), "expired": report.expired, "lifted": report.lifted}
