"""Route dependencies: the clock, read sessions and the operation context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_contract.clock import Clock
from eproc_contract.context import Ctx
from eproc_shared.auth import CurrentPrincipal
from eproc_shared.db import session_factory
from eproc_shared.service_app import DbSession, Runtime, get_runtime


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


async def get_ctx(request: Request, session: DbSession, runtime: Runtime, principal: CurrentPrincipal) -> Ctx:
    return Ctx(session, runtime.outbox, get_clock(request)(), runtime.settings, principal)  # type: ignore[arg-type]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For reads: a snapshot that never takes SQLite's write lock."""
    async with session_factory(get_runtime(request).engine, readonly=True)() as session:
        yield session


Context = Annotated[Ctx, Depends(get_ctx)]
ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
