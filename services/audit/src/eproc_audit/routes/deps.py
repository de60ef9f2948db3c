"""What the routes take from the app: the clock and the signing key (set by create_app)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from eproc_audit.clock import Clock
from eproc_audit.signing import SigningKey


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def get_signing_key(request: Request) -> SigningKey:
    return request.app.state.signing_key  # type: ignore[no-any-return]


ClockDep = Annotated[Clock, Depends(get_clock)]
KeyDep = Annotated[SigningKey, Depends(get_signing_key)]
