"""Accounts created at start: the bootstrap administrator, and in development one demo account per role."""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from eproc_gateway.identity import IdentityStore
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import OFFICIAL_ROLES, Role

log = logging.getLogger(__name__)


async def ensure_bootstrap_admin(store: IdentityStore, settings: GatewaySettings) -> None:
    name, password = settings.bootstrap_admin_username, settings.bootstrap_admin_password
    if not name or not password:
        return
    async with store.db() as db, db.begin():
        if await store.find_user(db, name) is None:
            await store.create_user(db, username=name, password=password, roles=[Role.ADMIN])
            log.info("bootstrap administrator %s created", name)


async def seed_dev_accounts(store: IdentityStore, settings: GatewaySettings, public_url: str) -> list[dict[str, Any]]:
    """One account per role, written to ``dev_credentials_file`` and printed. Never in production."""
    if settings.environment == "production":
        raise RuntimeError("dev seeding is refused in production")
    path = Path(settings.dev_credentials_file)
    previous = _read_previous(path)
    accounts = []
    for role in Role:
        username = f"dev-{role.value.replace('_', '-')}"
        password = previous.get(username) or secrets.token_urlsafe(12)
        async with store.db() as db, db.begin():
            user = await store.find_user(db, username)
            if user is None:
                if role == Role.VENDOR:
                    user = await store.register_vendor(
                        db,
                        username=username,
                        password=password,
                        email="vendor@dev.invalid",
                        company_name="PT Contoh Penyedia (dev)",
                        tax_id=None,
                        contact_name="Dev Vendor",
                    )
                else:
                    user = await store.create_user(
                        db,
                        username=username,
                        password=password,
                        roles=[role],
                        opd_id=settings.dev_opd_id if role in OFFICIAL_ROLES else None,
                        check_policy=False,
                    )
            elif username not in previous:
                await store.set_password(db, user.id, password)
        accounts.append(
            {
                "role": role.value,
                "username": username,
                "password": password,
                "opd_id": user.opd_id,
                "vendor_id": user.vendor_id,
            }
        )
    _write_private(path, {"token_url": f"{public_url}/auth/token", "accounts": accounts})
    lines = [f"dev accounts (also in {path}); sign in at POST {public_url}/auth/token:"]
    lines += [f"  {a['role']:<18} {a['username']:<24} {a['password']}" for a in accounts]
    print("\n".join(lines), flush=True)  # shown to the developer by `make run`
    return accounts


def _read_previous(path: Path) -> dict[str, str]:
    """Passwords of an earlier run, so that a restart keeps the credentials a developer already uses."""
    if not path.exists():
        return {}
    try:
        return {a["username"]: a["password"] for a in json.loads(path.read_text())["accounts"]}
    except (ValueError, KeyError, TypeError):
        return {}


def _write_private(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
    path.chmod(0o600)
