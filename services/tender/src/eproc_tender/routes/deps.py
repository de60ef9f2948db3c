"""Route dependencies: the unit of work with the request's time and caller."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.auth import CurrentPrincipal, OptionalPrincipal, Principal
from eproc_shared.service_app import DbSession, Runtime
from eproc_tender.clock import Clock
from eproc_tender.flows.bid_writer import BidWriter
from eproc_tender.settings import TenderSettings
from eproc_tender.store import Ctx, PackageSnapshots


def clock_of(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


async def received_at(request: Request) -> None:
    # The time of the request is read once, as it arrives: the deadline is judged by it.
    request.state.received_at = clock_of(request).now()


def _trusted(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def client_address(request: Request, trusted_proxies: list[str]) -> str | None:
    """The caller's address as the gateway saw it.

    The gateway appends its peer to X-Forwarded-For (keeping what came before only from a load balancer it
    trusts), so the hop it appended is the last one. Walking from the right, hops of the load balancers in
    ``trusted_proxies`` (the gateway's own list) are skipped, so a bid sent through them is not attributed
    to the balancer. Without the header (the service called directly) the socket peer is the caller.
    """
    forwarded = request.headers.get("x-forwarded-for")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()] if forwarded else []
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop
    if hops:
        return hops[0]
    return request.client.host if request.client else None


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
        client_address=client_address(request, settings.trusted_proxies),
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


async def user_read_ctx(
    _: Annotated[None, Depends(received_at)],
    request: Request,
    principal: CurrentPrincipal,
    session: Annotated[AsyncSession, Depends(read_session)],
    runtime: Runtime,
) -> Ctx:
    """A signed-in caller's unit of work that only reads (a snapshot: no write lock on SQLite)."""
    return _ctx(request, session, runtime, principal)


async def user_reads(
    _: Annotated[None, Depends(received_at)], request: Request, principal: CurrentPrincipal, runtime: Runtime
) -> Callable[[], AbstractAsyncContextManager[Ctx]]:
    """Read snapshots for a signed-in caller, opened as the flow needs them (a bid may be prepared twice)."""

    @asynccontextmanager
    async def read() -> AsyncIterator[Ctx]:
        async with request.app.state.read_sessions() as session, session.begin():
            yield _ctx(request, session, runtime, principal)

    return read


async def bid_writer(request: Request) -> BidWriter:
    return request.app.state.bid_writer  # type: ignore[no-any-return]


async def package_snapshots(request: Request) -> PackageSnapshots:
    return request.app.state.package_snapshots  # type: ignore[no-any-return]


UserReadCtx = Annotated[Ctx, Depends(user_read_ctx)]
UserReads = Annotated[Callable[[], AbstractAsyncContextManager[Ctx]], Depends(user_reads)]
Writer = Annotated[BidWriter, Depends(bid_writer)]
Snapshots = Annotated[PackageSnapshots, Depends(package_snapshots)]
