"""Route dependencies of the vendor service and its object-level access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.auth import Principal, Role, ensure_own_vendor, forbidden
from eproc_shared.db import session_factory
from eproc_shared.service_app import get_runtime
from eproc_vendor.clock import Clock
from eproc_vendor.documents import DocumentStore

#: Officials who may read vendor records (qualification is part of their work).
READERS = (Role.ADMIN, Role.VERIFIER, Role.PPK, Role.POKJA, Role.PEJABAT_PENGADAAN, Role.AUDITOR)


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


async def get_now(request: Request) -> datetime:
    return get_clock(request)()


async def get_documents(request: Request) -> DocumentStore:
    return request.app.state.documents  # type: ignore[no-any-return]


Now = Annotated[datetime, Depends(get_now)]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For reads: a deferred snapshot that never takes SQLite's write lock (public search under load)."""
    async with session_factory(get_runtime(request).engine, readonly=True)() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
Documents = Annotated[DocumentStore, Depends(get_documents)]


def ensure_can_edit(principal: Principal, vendor_id: str) -> None:
    """A vendor user edits only its own vendor; an admin may correct any record."""
    if principal.is_admin:
        return
    if not principal.has_role(Role.VENDOR):
        raise forbidden("Only the vendor itself (or an admin) edits a vendor record.")
    ensure_own_vendor(principal, vendor_id, what="vendor")


def ensure_can_read(principal: Principal, vendor_id: str) -> None:
    if principal.has_role(*READERS):
        return
    if principal.has_role(Role.VENDOR):
        ensure_own_vendor(principal, vendor_id, what="vendor")
        return
    raise forbidden("Your role cannot read vendor records; see the public profile instead.")
