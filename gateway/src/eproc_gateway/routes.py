"""The gateway's own API: sign-in, keys, vendor self-registration and administration."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_gateway.identity import ApiKey, IdentityStore, User
from eproc_gateway.proxy import etag_matches
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import ASYMMETRIC_ALGORITHMS, AuthError, Principal, Role, requires
from eproc_shared.events.asyncapi import build as build_asyncapi
from eproc_shared.problems import Problem, ProblemError

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 422, 429)
}


async def store_of(request: Request) -> IdentityStore:
    return request.app.state.identity  # type: ignore[no-any-return]


async def settings_of(request: Request) -> GatewaySettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session, session.begin():
        yield session


Store = Annotated[IdentityStore, Depends(store_of)]
Settings = Annotated[GatewaySettings, Depends(settings_of)]
Db = Annotated[AsyncSession, Depends(db_session)]


def builtin_only(settings: Settings) -> None:
    if settings.identity_mode != "builtin":
        raise ProblemError(
            404,
            "Not found",
            "Users sign in and register at the city's identity provider; this gateway does not issue user tokens.",
            slug="identity-provider",
        )


BuiltinOnly = Depends(builtin_only)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(description="Single use: each refresh returns a new one. Reuse revokes the session.")
    refresh_expires_in: int


class LogoutRequest(BaseModel):
    refresh_token: str


class VendorRegistration(BaseModel):
    username: str = Field(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=1, max_length=256)
    email: str = Field(max_length=320, pattern=EMAIL)
    company_name: str = Field(min_length=2, max_length=300)
    tax_id: str | None = Field(default=None, max_length=32, description="NPWP of the company.")
    contact_name: str | None = Field(default=None, max_length=200)


class Registered(BaseModel):
    user_id: str
    vendor_id: str
    username: str


class UserOut(BaseModel):
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
    def of(cls, user: User) -> UserOut:
        return cls(**user.__dict__)


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=1, max_length=256)
    roles: list[str] = Field(min_length=1)
    opd_id: str | None = Field(default=None, max_length=64)
    vendor_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL)
    display_name: str | None = Field(default=None, max_length=200)


class UserPatch(BaseModel):
    roles: list[str] | None = None
    opd_id: str | None = Field(default=None, max_length=64)
    active: bool | None = None


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=256)


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = None


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, description="For example ['public:read'].")
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(**key.__dict__)


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="Shown once; send it as the X-API-Key header. Only a hash is stored.")


class Me(BaseModel):
    subject: str
    kind: str
    username: str | None
    roles: list[str]
    scopes: list[str]
    opd_id: str | None
    vendor_id: str | None


async def principal_of(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise AuthError("Sign in: this needs an access token.", error=None)
    return principal


CurrentCaller = Annotated[Principal, Depends(principal_of)]

auth = APIRouter(tags=["identity"], responses=PROBLEMS)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@auth.post("/auth/token", response_model=TokenResponse, summary="Sign in, or refresh a token pair")
async def token(
    request: Request,
    response: Response,
    store: Store,
    settings: Settings,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()] = "password",
    username: Annotated[str | None, Form(max_length=150)] = None,
    password: Annotated[str | None, Form(max_length=256)] = None,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse:
    """OAuth2 token endpoint (form-encoded). `grant_type=password` with `username` and `password`
    signs in; `grant_type=refresh_token` with `refresh_token` rotates the pair. Failed sign-ins are
    limited per account and per client address (429 with Retry-After)."""
    response.headers.update(NO_STORE)
    if grant_type == "refresh_token":
        if not refresh_token:
            raise AuthError("Send refresh_token.", error="invalid_request")
        pair = await store.refresh(refresh_token)
    else:
        builtin_only(settings)
        if not username or not password:
            raise AuthError("Send username and password.", error="invalid_request")
        limiters = request.app.state.limiters
        account_key = f"account:{username.strip().lower()}"
        ip_key = f"ip:{request.state.client_ip}"
        for limiter, key in ((limiters.login_account, account_key), (limiters.login_ip, ip_key)):
            verdict = limiter.check(key)
            if not verdict.allowed:
                raise ProblemError(
                    429,
                    "Too many sign-in attempts",
                    f"Too many failed sign-ins; retry after {verdict.retry_after_header} s.",
                    slug="rate-limited",
                    headers={"Retry-After": verdict.retry_after_header},
                )
        user = await store.authenticate(username, password)
        if user is None:
            limiters.login_account.hit(account_key)
            limiters.login_ip.hit(ip_key)
            raise AuthError("Wrong username or password.", error="invalid_grant")
        pair = await store.start_session(user)
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )


@auth.post("/auth/logout", status_code=204, summary="Sign out: revoke the session of this refresh token")
async def logout(body: LogoutRequest, store: Store) -> Response:
    """Revokes the whole sign-in session: its refresh tokens stop working, and the gateway refuses its
    access tokens from then on. Answers 204 whether or not the token was known."""
    await store.logout(body.refresh_token)
    return Response(status_code=204)


@auth.get("/auth/me", response_model=Me, summary="Who the caller is")
async def me(principal: CurrentCaller) -> Me:
    return Me(
        subject=principal.subject,
        kind=principal.kind,
        username=principal.username,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        opd_id=principal.opd_id,
        vendor_id=principal.vendor_id,
    )


@auth.post(
    "/auth/register/vendor",
    response_model=Registered,
    status_code=201,
    dependencies=[BuiltinOnly],
    summary="Vendor self-registration",
)
async def register_vendor(body: VendorRegistration, store: Store, db: Db) -> Registered:
    """Creates a vendor user and a new vendor id. The vendor service receives
    `identity.vendor_user_registered` and holds the company data; verification follows there."""
    user = await store.register_vendor(
        db,
        username=body.username,
        password=body.password,
        email=body.email,
        company_name=body.company_name,
        tax_id=body.tax_id,
        contact_name=body.contact_name,
    )
    assert user.vendor_id is not None
    return Registered(user_id=user.id, vendor_id=user.vendor_id, username=user.username)


def _json_and_etag(payload: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:18]).decode() + '"'


def _cached_body(request: Request, body: bytes, etag: str, max_age: int) -> Response:
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _cached_json(request: Request, payload: dict[str, Any], max_age: int) -> Response:
    return _cached_body(request, *_json_and_etag(payload), max_age)


@functools.cache
def public_asyncapi() -> tuple[bytes, str]:
    """The catalogue is fixed for the life of the process: built once, on first request."""
    return _json_and_etag(build_asyncapi(public_only=True))


@auth.get("/.well-known/jwks.json", summary="Public keys that verify the gateway's tokens")
async def jwks(request: Request) -> Response:
    return _cached_json(request, request.app.state.keyring.jwks(), 300)


@auth.get("/.well-known/openid-configuration", summary="Issuer metadata")
async def openid_configuration(request: Request, settings: Settings) -> Response:
    base = str(request.base_url).rstrip("/")
    return _cached_json(
        request,
        {
            "issuer": settings.issuer,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "token_endpoint": f"{base}/auth/token",
            "grant_types_supported": ["password", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "id_token_signing_alg_values_supported": [a for a in ASYMMETRIC_ALGORITHMS if a in ("EdDSA", "RS256")],
        },
        300,
    )


@auth.get("/asyncapi.json", include_in_schema=False)
async def asyncapi_document(request: Request) -> Response:
    """AsyncAPI 3.0 of the public topics only: what outside systems may consume, and each payload's schema.
    Left out of the OpenAPI paths like /openapi.json itself; the merged document links it (externalDocs)."""
    return _cached_body(request, *public_asyncapi(), 300)


admin = APIRouter(prefix="/admin", tags=["administration"], dependencies=[requires(Role.ADMIN)], responses=PROBLEMS)


@admin.get("/users", response_model=UserPage, dependencies=[BuiltinOnly])
async def list_users(
    store: Store,
    db: Db,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    role: Annotated[str | None, Query()] = None,
) -> UserPage:
    found, next_cursor = await store.list_users(db, after=cursor, limit=limit, role=role)
    return UserPage(items=[UserOut.of(u) for u in found], next_cursor=next_cursor)


@admin.post("/users", response_model=UserOut, status_code=201, dependencies=[BuiltinOnly])
async def create_user(body: UserIn, store: Store, db: Db, principal: CurrentCaller) -> UserOut:
    """Create an official's, verifier's, auditor's or administrator's account (vendors register themselves)."""
    user = await store.create_user(
        db,
        username=body.username,
        password=body.password,
        roles=body.roles,
        opd_id=body.opd_id,
        vendor_id=body.vendor_id,
        email=body.email,
        display_name=body.display_name,
        created_by=principal.subject,
    )
    return UserOut.of(user)


@admin.get("/users/{user_id}", response_model=UserOut, dependencies=[BuiltinOnly])
async def get_user(user_id: str, store: Store, db: Db) -> UserOut:
    return UserOut.of(await store.get_user(db, user_id))


@admin.patch("/users/{user_id}", response_model=UserOut, dependencies=[BuiltinOnly])
async def update_user(user_id: str, body: UserPatch, store: Store, db: Db, principal: CurrentCaller) -> UserOut:
    """Change roles, OPD or the active flag. Any change ends the user's sign-in sessions."""
    user = await store.update_user(
        db,
        user_id,
        roles=body.roles,
        opd_id=body.opd_id,
        active=body.active,
        updated_by=principal.subject,
        clear_opd="opd_id" in body.model_fields_set and body.opd_id is None,
    )
    return UserOut.of(user)


@admin.post("/users/{user_id}/password", status_code=204, dependencies=[BuiltinOnly])
async def reset_password(user_id: str, body: PasswordIn, store: Store, db: Db) -> Response:
    user = await store.get_user(db, user_id)
    store.check_password_policy(body.password, user.username)
    await store.set_password(db, user_id, body.password)
    await store.revoke_user_sessions(db, user_id, "password_reset")
    return Response(status_code=204)


@admin.get("/api-keys", response_model=list[ApiKeyOut])
async def list_api_keys(store: Store, db: Db) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in await store.list_api_keys(db)]


@admin.post("/api-keys", response_model=ApiKeyCreatedOut, status_code=201)
async def create_api_key(body: ApiKeyIn, store: Store, db: Db, principal: CurrentCaller) -> ApiKeyCreatedOut:
    key, secret = await store.create_api_key(
        db, name=body.name, scopes=body.scopes, created_by=principal.subject, expires_at=body.expires_at
    )
    return ApiKeyCreatedOut(**key.__dict__, key=secret)


@admin.delete("/api-keys/{key_id}", status_code=204)
async def revoke_api_key(key_id: str, store: Store, db: Db, principal: CurrentCaller) -> Response:
    await store.revoke_api_key(db, key_id, principal.subject)
    return Response(status_code=204)


class SigningKeyOut(BaseModel):
    kid: str
    alg: str
    created_at: datetime
    active: bool


@admin.get("/signing-keys", response_model=list[SigningKeyOut])
async def list_signing_keys(request: Request) -> list[SigningKeyOut]:
    keyring = request.app.state.keyring
    active = keyring.active()
    return [
        SigningKeyOut(kid=k.kid, alg=k.alg, created_at=k.created_at, active=k.kid == active.kid)
        for k in keyring.published()
    ]


@admin.post("/signing-keys/rotate", response_model=SigningKeyOut, status_code=201)
async def rotate_signing_key(request: Request) -> SigningKeyOut:
    """Add a new signing key (database-kept keys only). It is published at once and signs a minute later;
    the old key stays published until the tokens it signed have expired."""
    keyring = request.app.state.keyring
    if keyring.from_files:
        raise ProblemError(
            409, "Keys come from files", "Rotate by changing GATEWAY_SIGNING_KEY_FILES.", slug="conflict"
        )
    key = await keyring.rotate()
    return SigningKeyOut(kid=key.kid, alg=key.alg, created_at=key.created_at, active=False)
