"""What the routes take from the app: the clock, the signing key and the verifier pool (set by create_app),
settings, read sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_audit.clock import Clock
from eproc_audit.settings import AuditSettings
from eproc_audit.signing import SigningKey
from eproc_audit.verify_pool import VerifierPool
from eproc_shared.db import session_factory


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def get_signing_key(request: Request) -> SigningKey:
    return request.app.state.signing_key  # type: ignore[no-any-return]


def get_verifier_pool(request: Request) -> VerifierPool:
    return request.app.state.verifier_pool  # type: ignore[no-any-return]


ClockDep = Annotated[Clock, Depends(get_clock)]
KeyDep = Annotated[SigningKey, Depends(get_signing_key)]
VerifierPoolDep = Annotated[VerifierPool, Depends(get_verifier_pool)]


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only transaction (on SQLite it does not take the write lock, so public reads never slow the log)."""
    runtime = request.app.state.runtime
    async with session_factory(runtime.engine, readonly=True)() as session, session.begin():
        yield session


def get_settings(request: Request) -> AuditSettings:
    return request.app.state.runtime.settings  # type: ignore[no-any-return]


ReadSession = Annotated[AsyncSession, Depends(read_session)]
SettingsDep = Annotated[AuditSettings, Depends(get_settings)]
