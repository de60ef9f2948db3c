"""The built-in identity store: users, sign-in sessions with rotating refresh tokens, API keys.

Passwords are hashed with argon2id (argon2-cffi) and never logged. Refresh tokens and API keys
are random secrets of 256 bits stored only as an HMAC (``GATEWAY_TOKEN_HASH_KEY``), so a copy of
the database does not let anyone use them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_gateway.keys import KeyRing
from eproc_gateway.keys import aware as _aware
from eproc_gateway.models import api_keys, refresh_tokens, sessions, users
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import OFFICIAL_ROLES, ROLES, SCOPES, AuthError, Clock, Principal, Role
from eproc_shared.events.types.identity import (
    ApiKeyCreated,
    ApiKeyRevoked,
    UserCreated,
    UserUpdated,
    VendorUserRegistered,
)
from eproc_shared.outbox import Outbox
from eproc_shared.problems import FieldProblem, ProblemError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class User:
    id: str
    username: str
    roles: list[str]
    opd_id: str | None
    vendor_id: str | None
    email: str | None
    display_name: str | None
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(
            id=row.id,
            username=row.username,
            roles=list(row.roles),
            opd_id=row.opd_id,
            vendor_id=row.vendor_id,
            email=row.email,
            display_name=row.display_name,
            active=row.active,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _field_problem(field: str, message: str, code: str = "invalid") -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        message,
        slug="validation",
        errors=[FieldProblem(field=field, location="body", message=message, code=code)],
    )


def validate_roles(roles: Iterable[str], opd_id: str | None, vendor_id: str | None) -> list[str]:
    wanted = sorted(set(roles))
    unknown = set(wanted) - ROLES
    if not wanted or unknown:
        raise _field_problem("roles", f"Give one or more of {sorted(ROLES)}; unknown: {sorted(unknown)}")
    if Role.VENDOR in wanted and len(wanted) > 1:
        raise _field_problem("roles", "A vendor user holds no other role.")
    if OFFICIAL_ROLES & set(wanted) and not opd_id:
        raise _field_problem("opd_id", "Officials (ppk, pokja, pejabat_pengadaan) belong to an OPD: give opd_id.")
    if Role.VENDOR in wanted and not vendor_id:
        raise _field_problem("vendor_id", "A vendor user belongs to a vendor: give vendor_id.")
    return wanted


class IdentityStore:
    def __init__(
        self,
        settings: GatewaySettings,
        sessions_factory: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        keyring: KeyRing,
        *,
        clock: Clock,
        monotonic: Any = time.monotonic,
    ) -> None:
        self.settings = settings
        self.db = sessions_factory
        self.outbox = outbox
        self.keyring = keyring
        self.clock = clock
        self.monotonic = monotonic
        self.hasher = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )
        self._dummy_hash: str | None = None
        self._hash_key = settings.token_hash_key.encode()
        self._session_cache: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self._key_cache: OrderedDict[str, tuple[Principal | None, float]] = OrderedDict()
        self._minted: dict[str, tuple[str, float]] = {}
        # Argon2 uses memory_cost per hash: bound how many run at once.
        self._hash_slots = asyncio.Semaphore(4)

    # Secrets ---------------------------------------------------------------------------

    def digest(self, secret: str) -> str:
        return hmac.new(self._hash_key, secret.encode(), hashlib.sha256).hexdigest()

    async def hash_password(self, password: str) -> str:
        async with self._hash_slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify_password(self, stored: str | None, password: str) -> bool:
        if stored is None:
            # Unknown user: spend the same time, so response times do not reveal which usernames exist.
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash_password(secrets.token_urlsafe(16))
            stored = self._dummy_hash
            password = password + "\x00unknown"
        async with self._hash_slots:
            try:
                return await asyncio.to_thread(self.hasher.verify, stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def check_password_policy(self, password: str, username: str) -> None:
        if len(password) < self.settings.password_min_length:
            raise _field_problem(
                "password", f"Use at least {self.settings.password_min_length} characters.", "too_short"
            )
        if username.lower() in password.lower():
            raise _field_problem("password", "The password must not contain the username.", "weak")

    # Users -----------------------------------------------------------------------------

    async def create_user(
        self,
        session: AsyncSession,
        *,
        username: str,
        password: str,
        roles: Iterable[str],
        opd_id: str | None = None,
        vendor_id: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        created_by: str | None = None,
        check_policy: bool = True,
        emit: bool = True,
    ) -> User:
        name = username.strip().lower()
        wanted = validate_roles(roles, opd_id, vendor_id)
        if check_policy:
            self.check_password_policy(password, name)
        now = self.clock()
        values = {
            "id": str(uuid.uuid4()),
            "username": name,
            "password_hash": await self.hash_password(password),
            "roles": wanted,
            "opd_id": opd_id,
            "vendor_id": vendor_id,
            "email": email,
            "display_name": display_name,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with session.begin_nested():
                await session.execute(insert(users).values(**values))
        except IntegrityError as exc:
            raise ProblemError(
                409, "Username taken", f"The username {name!r} is already in use.", slug="conflict"
            ) from exc
        user = User(**{k: values[k] for k in User.__dataclass_fields__})
        if emit and Role.VENDOR not in wanted:
            await self.outbox.add(
                session,
                UserCreated(user_id=user.id, roles=wanted, opd_id=opd_id, created_by=created_by, username=name),
                key=user.id,
                time=now,
            )
        return user

    async def register_vendor(
        self,
        session: AsyncSession,
        *,
        username: str,
        password: str,
        email: str,
        company_name: str,
        tax_id: str | None,
        contact_name: str | None,
    ) -> User:
        vendor_id = str(uuid.uuid4())
        user = await self.create_user(
            session,
            username=username,
            password=password,
            roles=[Role.VENDOR],
            vendor_id=vendor_id,
            email=email,
            display_name=contact_name,
            emit=False,
        )
        await self.outbox.add(
            session,
            VendorUserRegistered(
                user_id=user.id,
                vendor_id=vendor_id,
                company_name=company_name,
                tax_id=tax_id,
                username=user.username,
                email=email,
                contact_name=contact_name,
            ),
            key=vendor_id,
            time=self.clock(),
        )
        return user

    async def get_user(self, session: AsyncSession, user_id: str) -> User:
        row = (await session.execute(select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise ProblemError(404, "Not found", "No such user.", slug="not-found")
        return User.from_row(row)

    async def find_user(self, session: AsyncSession, username: str) -> User | None:
        row = (await session.execute(select(users).where(users.c.username == username.strip().lower()))).first()
        return User.from_row(row) if row else None

    async def set_password(self, session: AsyncSession, user_id: str, password: str) -> None:
        await session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=await self.hash_password(password), updated_at=self.clock())
        )

    async def update_user(
        self,
        session: AsyncSession,
        user_id: str,
        *,
        roles: list[str] | None,
        opd_id: str | None,
        active: bool | None,
        updated_by: str | None,
        clear_opd: bool = False,
    ) -> User:
        user = await self.get_user(session, user_id)
        new_roles = roles if roles is not None else user.roles
        new_opd = None if clear_opd else (opd_id if opd_id is not None else user.opd_id)
        new_active = user.active if active is None else active
        new_roles = validate_roles(new_roles, new_opd, user.vendor_id)
        if (Role.VENDOR in new_roles) != (Role.VENDOR in user.roles):
            raise _field_problem("roles", "A vendor user cannot become an official, nor the reverse.")
        await session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(roles=new_roles, opd_id=new_opd, active=new_active, updated_at=self.clock())
        )
        if not new_active or set(new_roles) != set(user.roles) or new_opd != user.opd_id:
            # Tokens carry roles and OPD: changed or disabled accounts must sign in again.
            await self.revoke_user_sessions(session, user_id, "account_changed")
        await self.outbox.add(
            session,
            UserUpdated(
                user_id=user_id,
                roles=new_roles,
                opd_id=new_opd,
                vendor_id=user.vendor_id,
                active=new_active,
                updated_by=updated_by,
            ),
            key=user_id,
            time=self.clock(),
        )
        return await self.get_user(session, user_id)

    async def list_users(
        self, session: AsyncSession, *, after: str | None, limit: int, role: str | None
    ) -> tuple[list[User], str | None]:
        stmt = select(users).order_by(users.c.username).limit(limit + 1)
        if after:
            stmt = stmt.where(users.c.username > after)
        rows = [User.from_row(r) for r in (await session.execute(stmt)).all()]
        if role:
            rows = [u for u in rows if role in u.roles]
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].username if more and rows else None)

    # Sign-in and sessions --------------------------------------------------------------

    async def authenticate(self, username: str, password: str) -> User | None:
        async with self.db() as session:
            row = (await session.execute(select(users).where(users.c.username == username.strip().lower()))).first()
        ok = await self._verify_password(row.password_hash if row else None, password)
        if not ok or row is None or not row.active:
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            async with self.db() as session, session.begin():
                await self.set_password(session, row.id, password)
        return User.from_row(row)

    def access_token(self, user: User, session_id: str) -> tuple[str, int]:
        now = self.clock()
        ttl = self.settings.access_token_ttl_s
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": self.settings.auth.audience,
            "sub": user.id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(now.timestamp()) + ttl,
            "jti": str(uuid.uuid4()),
            "sid": session_id,
            "client_id": "eproc-gateway",
            "kind": "user",
            "preferred_username": user.username,
            "roles": user.roles,
        }
        if user.opd_id:
            claims["opd_id"] = user.opd_id
        if user.vendor_id:
            claims["vendor_id"] = user.vendor_id
        return self.keyring.sign(claims), ttl

    def _new_refresh(self) -> tuple[str, str, str]:
        token_id = str(uuid.uuid4())
        secret = secrets.token_urlsafe(32)
        return token_id, f"{token_id}.{secret}", self.digest(f"{token_id}.{secret}")

    async def start_session(self, user: User) -> TokenPair:
        now = self.clock()
        session_id = str(uuid.uuid4())
        session_end = now + timedelta(seconds=self.settings.session_max_age_s)
        token_id, token, digest = self._new_refresh()
        refresh_end = min(now + timedelta(seconds=self.settings.refresh_token_ttl_s), session_end)
        async with self.db() as db, db.begin():
            await db.execute(
                insert(sessions).values(id=session_id, user_id=user.id, created_at=now, expires_at=session_end)
            )
            await db.execute(
                insert(refresh_tokens).values(
                    id=token_id, session_id=session_id, token_hash=digest, created_at=now, expires_at=refresh_end
                )
            )
        access, ttl = self.access_token(user, session_id)
        return TokenPair(access, ttl, token, int((refresh_end - now).total_seconds()), session_id)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is used up and a new one issued in the same session.

        Presenting a used token again means it was copied: the whole session is revoked.
        """
        token_id, _, _secret = refresh_token.partition(".")
        now = self.clock()
        reused = False
        async with self.db() as db, db.begin():
            row = (
                await db.execute(
                    select(
                        refresh_tokens, sessions.c.user_id, sessions.c.revoked_at, sessions.c.expires_at.label("s_exp")
                    )
                    .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
                    .where(refresh_tokens.c.id == token_id)
                )
            ).first()
            if row is None or not hmac.compare_digest(row.token_hash, self.digest(refresh_token)):
                raise AuthError("The refresh token is not valid.", error="invalid_grant")
            if row.revoked_at is not None:
                raise AuthError("This sign-in session has ended; sign in again.", error="invalid_grant")
            if _aware(row.expires_at) <= now or _aware(row.s_exp) <= now:
                raise AuthError("The refresh token has expired; sign in again.", error="invalid_grant")
            marked = await db.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.id == token_id, refresh_tokens.c.used_at.is_(None))
                .values(used_at=now)
            )
            if marked.rowcount != 1:
                reused = True
                await self._revoke_session(db, row.session_id, "refresh_token_reuse")
            else:
                user_row = (await db.execute(select(users).where(users.c.id == row.user_id))).first()
                if user_row is None or not user_row.active:
                    await self._revoke_session(db, row.session_id, "account_disabled")
                    reused = True
                else:
                    user = User.from_row(user_row)
                    new_id, token, digest = self._new_refresh()
                    refresh_end = min(now + timedelta(seconds=self.settings.refresh_token_ttl_s), _aware(row.s_exp))
                    await db.execute(
                        insert(refresh_tokens).values(
                            id=new_id,
                            session_id=row.session_id,
                            token_hash=digest,
                            created_at=now,
                            expires_at=refresh_end,
                        )
                    )
        if reused:
            log.warning("refresh token reuse or disabled account: session %s revoked", row.session_id)
            raise AuthError("This refresh token was already used; the session is revoked.", error="invalid_grant")
        access, ttl = self.access_token(user, row.session_id)
        return TokenPair(access, ttl, token, int((refresh_end - now).total_seconds()), row.session_id)

    async def logout(self, refresh_token: str) -> bool:
        token_id, _, _ = refresh_token.partition(".")
        async with self.db() as db, db.begin():
            row = (await db.execute(select(refresh_tokens).where(refresh_tokens.c.id == token_id))).first()
            if row is None or not hmac.compare_digest(row.token_hash, self.digest(refresh_token)):
                return False
            await self._revoke_session(db, row.session_id, "logout")
        return True

    async def revoke_session(self, session_id: str, reason: str) -> None:
        async with self.db() as db, db.begin():
            await self._revoke_session(db, session_id, reason)

    async def _revoke_session(self, db: AsyncSession, session_id: str, reason: str) -> None:
        await db.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=self.clock(), revoked_reason=reason)
        )
        self._remember_session(session_id, False)

    async def revoke_user_sessions(self, db: AsyncSession, user_id: str, reason: str) -> None:
        ids = (
            await db.execute(
                select(sessions.c.id).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            )
        ).scalars()
        for session_id in list(ids):
            await self._revoke_session(db, session_id, reason)

    def _remember_session(self, session_id: str, active: bool) -> None:
        self._session_cache[session_id] = (active, self.monotonic())
        self._session_cache.move_to_end(session_id)
        while len(self._session_cache) > 100_000:
            self._session_cache.popitem(last=False)

    async def session_active(self, session_id: str) -> bool:
        """Whether a sign-in session still stands (logout and reuse revoke it). Cached briefly per replica."""
        cached = self._session_cache.get(session_id)
        if cached is not None:
            active, at = cached
            if not active or self.monotonic() - at < self.settings.session_check_cache_s:
                return active
        async with self.db() as db:
            row = (await db.execute(select(sessions.c.revoked_at).where(sessions.c.id == session_id))).first()
        active = row is not None and row.revoked_at is None
        self._remember_session(session_id, active)
        return active

    # API keys --------------------------------------------------------------------------

    async def create_api_key(
        self,
        session: AsyncSession,
        *,
        name: str,
        scopes: list[str],
        created_by: str | None,
        expires_at: datetime | None,
    ) -> tuple[ApiKey, str]:
        unknown = set(scopes) - SCOPES
        if not scopes or unknown:
            raise _field_problem("scopes", f"Give one or more of {sorted(SCOPES)}; unknown: {sorted(unknown)}")
        secret = "ek_" + secrets.token_urlsafe(32)
        key = ApiKey(
            id=str(uuid.uuid4()),
            name=name,
            prefix=secret[:10],
            scopes=sorted(set(scopes)),
            created_by=created_by,
            created_at=self.clock(),
            expires_at=expires_at,
            revoked_at=None,
        )
        await session.execute(
            insert(api_keys).values(
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                key_hash=self.digest(secret),
                scopes=key.scopes,
                created_by=created_by,
                created_at=key.created_at,
                expires_at=expires_at,
            )
        )
        await self.outbox.add(
            session,
            ApiKeyCreated(api_key_id=key.id, name=name, scopes=key.scopes, created_by=created_by),
            key=key.id,
            time=key.created_at,
        )
        return key, secret

    async def list_api_keys(self, session: AsyncSession) -> list[ApiKey]:
        rows = (await session.execute(select(api_keys).order_by(api_keys.c.created_at))).all()
        return [
            ApiKey(
                id=r.id,
                name=r.name,
                prefix=r.prefix,
                scopes=list(r.scopes),
                created_by=r.created_by,
                created_at=r.created_at,
                expires_at=r.expires_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]

    async def revoke_api_key(self, session: AsyncSession, key_id: str, revoked_by: str | None) -> None:
        result = await session.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=self.clock())
        )
        if result.rowcount != 1:
            exists = (await session.execute(select(api_keys.c.id).where(api_keys.c.id == key_id))).first()
            if exists is None:
                raise ProblemError(404, "Not found", "No such API key.", slug="not-found")
            return
        await self.outbox.add(
            session, ApiKeyRevoked(api_key_id=key_id, revoked_by=revoked_by), key=key_id, time=self.clock()
        )
        self._key_cache.clear()
        self._minted.pop(f"apikey:{key_id}", None)

    async def verify_api_key(self, secret: str) -> Principal:
        digest = self.digest(secret)
        cached = self._key_cache.get(digest)
        if cached is not None and self.monotonic() - cached[1] < self.settings.session_check_cache_s:
            principal = cached[0]
        else:
            async with self.db() as db:
                row = (await db.execute(select(api_keys).where(api_keys.c.key_hash == digest))).first()
            principal = None
            if row is not None and row.revoked_at is None:
                principal = Principal(
                    subject=f"apikey:{row.id}",
                    kind="api_key",
                    scopes=frozenset(row.scopes),
                    username=row.name,
                    issuer=self.settings.issuer,
                    expires_at=_aware(row.expires_at) if row.expires_at else None,
                )
            self._key_cache[digest] = (principal, self.monotonic())
            self._key_cache.move_to_end(digest)
            while len(self._key_cache) > 10_000:
                self._key_cache.popitem(last=False)
        if principal is None or (principal.expires_at is not None and principal.expires_at <= self.clock()):
            raise AuthError("The API key is not valid (unknown, revoked or expired).")
        return principal

    def api_key_token(self, principal: Principal) -> str:
        """A short-lived token standing for an API-key call, so that services verify every call the same way."""
        cached = self._minted.get(principal.subject)
        now = self.clock().timestamp()
        if cached is not None and cached[1] - 60 > now:
            return cached[0]
        exp = int(now) + self.settings.api_key_token_ttl_s
        token = self.keyring.sign(
            {
                "iss": self.settings.issuer,
                "aud": self.settings.auth.audience,
                "sub": principal.subject,
                "iat": int(now),
                "exp": exp,
                "jti": str(uuid.uuid4()),
                "client_id": principal.subject,
                "kind": "api_key",
                "scope": " ".join(sorted(principal.scopes)),
                "roles": [],
            }
        )
        self._minted[principal.subject] = (token, float(exp))
        return token
