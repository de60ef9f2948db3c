"""Route dependencies: the unit of work with the request's time and caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.auth import CurrentPrincipal, OptionalPrincipal, Principal
from eproc_shared.service_app import DbSession, Runtime
from eproc_tender.clock import Clock
from eproc_tender.settings import TenderSettings
from eproc_tender.store import Ctx


def clock_of(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


async def received_at(request: Request) -> None:
    # The time of the request is read once, as it arrives: the deadline is judged by it.
    request.state.received_at = clock_of(request).now()


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only snapshot: public reads never take SQLite's write lock from the bids at a deadline."""
    async with request.app.state.read_sessions() as session, session.begin():
        yield session


def _ctx(request: Request, session: AsyncSession, runtime: Runtime, principal: Principal | None) -> Ctx:
    settings = runtime.settings
    assert isinstance(settings, TenderSettings)
    return Ctx(
        session=session,
        outbox=runtime.outbox,
        settings=settings,
        now=request.state.received_at,
        principal=principal,
        scheduler=getattr(request.app.state, "scheduler", None),
    )


async def user_ctx(
    _: Annotated[None, Depends(received_at)],
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: Runtime,
) -> Ctx:
    return _ctx(request, session, runtime, principal)


async def reader_ctx(
    _: Annotated[None, Depends(received_at)],
    request: Request,
    principal: OptionalPrincipal,
    session: Annotated[AsyncSession, Depends(read_session)],
    runtime: Runtime,
) -> Ctx:
    return _ctx(request, session, runtime, principal)


UserCtx = Annotated[Ctx, Depends(user_ctx)]
ReaderCtx = Annotated[Ctx, Depends(reader_ctx)]
