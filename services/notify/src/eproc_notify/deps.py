"""Route dependencies of the notify service and its object-level access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_notify.clock import Clock
from eproc_notify.domain.secret_box import SecretBox
from eproc_notify.settings import NotifySettings
from eproc_shared.auth import CurrentPrincipal, Principal, forbidden
from eproc_shared.db import session_factory
from eproc_shared.service_app import get_runtime


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


async def get_now(request: Request) -> datetime:
    return get_clock(request)()


async def get_settings(request: Request) -> NotifySettings:
    return request.app.state.notify_settings  # type: ignore[no-any-return]


async def get_secret_box(request: Request) -> SecretBox:
    return request.app.state.secret_box  # type: ignore[no-any-return]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For reads: a deferred snapshot that never takes SQLite's write lock."""
    async with session_factory(get_runtime(request).engine, readonly=True)() as session:
        yield session


async def signed_in_user(principal: CurrentPrincipal) -> Principal:
    """The inbox, preferences and subscriptions belong to people; an API key has none."""
    if principal.kind != "user":
        raise forbidden("This is a signed-in user's own data; an API key has no inbox or preferences.")
    return principal


Now = Annotated[datetime, Depends(get_now)]
Settings = Annotated[NotifySettings, Depends(get_settings)]
Secrets = Annotated[SecretBox, Depends(get_secret_box)]
ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
User = Annotated[Principal, Depends(signed_in_user)]
