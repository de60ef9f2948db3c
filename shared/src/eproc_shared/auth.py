"""Token verification and access rules that every service applies itself.

The gateway checks every request, but a service never trusts that: it verifies the bearer
token against the issuer's JWKS (defence in depth: a request that reaches it around the
gateway is still checked) and enforces the object-level rules of its domain.

The issuer is the gateway's built-in one by default, or an outside OpenID Connect provider
(the city's Keycloak) in production; both are configured with the same unprefixed settings:
``AUTH_ISSUER``, ``AUTH_AUDIENCE`` and ``AUTH_JWKS_URL``.

In a route::

    from eproc_shared.auth import CurrentPrincipal, Role, ensure_opd, requires

    @router.post("/packages", dependencies=[requires(Role.PPK)])
    async def create_package(body: PackageIn, principal: CurrentPrincipal) -> ...:
        ensure_opd(principal, body.opd_id)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import httpx
import jwt
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from eproc_shared.problems import ProblemError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    ADMIN = "admin"
    PPK = "ppk"
    POKJA = "pokja"
    PEJABAT_PENGADAAN = "pejabat_pengadaan"
    VERIFIER = "verifier"
    VENDOR = "vendor"
    AUDITOR = "auditor"


ROLES: frozenset[str] = frozenset(r.value for r in Role)
#: Roles that belong to an agency (OPD) and carry an ``opd_id``.
OFFICIAL_ROLES: frozenset[str] = frozenset({Role.PPK, Role.POKJA, Role.PEJABAT_PENGADAAN})


class Scope(StrEnum):
    """Scopes an API key (an outside system) can hold."""

    PUBLIC_READ = "public:read"
    WEBHOOKS_MANAGE = "webhooks:manage"


SCOPES: frozenset[str] = frozenset(s.value for s in Scope)

# Algorithms a token may be signed with. Symmetric (HS*) and "none" are never accepted: a
# verifier that only has public keys must not be tricked into using one as an HMAC secret.
ASYMMETRIC_ALGORITHMS = ("EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_KEY_TYPES = {"EdDSA": "OKP", "RS": "RSA", "PS": "RSA", "ES": "EC"}


class AuthSettings(BaseSettings):
    """How services verify tokens. Unprefixed (``AUTH_*``): the same for every process."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="The `iss` of user tokens: the gateway's public URL, or the OpenID Connect provider's issuer URL.",
    )
    audience: str = Field(default="eproc", description="The `aud` every token must carry.")
    jwks_url: str = Field(
        default="http://127.0.0.1:8000/.well-known/jwks.json",
        description="Where the issuer publishes its public keys (JWKS).",
    )
    extra_issuers: dict[str, str] = Field(
        default={},
        description="More trusted issuers, as JSON {issuer: jwks_url}. With an outside OIDC provider, add the "
        'gateway\'s own issuer for API-key calls: {"urn:eproc:gateway": "http://gateway/.well-known/jwks.json"}.',
    )
    algorithms: list[str] = Field(default=["EdDSA", "RS256", "PS256", "ES256"], description="Accepted `alg` values.")
    leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew tolerated on exp/nbf/iat.")
    jwks_cache_s: float = Field(default=300, gt=0, description="How long fetched keys are used before refetching.")
    jwks_min_refresh_s: float = Field(
        default=10, ge=0, description="An unknown `kid` refetches the JWKS at most this often (rotation pick-up)."
    )
    jwks_timeout_s: float = Field(default=5, gt=0, description="Timeout of one JWKS fetch.")
    roles_claim: str = Field(
        default="roles", description="Dotted path of the roles claim; Keycloak realm roles: realm_access.roles."
    )
    opd_claim: str = Field(default="opd_id", description="Claim holding the official's agency (OPD) id.")
    vendor_claim: str = Field(default="vendor_id", description="Claim holding the vendor user's vendor id.")
    username_claim: str = Field(default="preferred_username", description="Claim holding the user name shown in logs.")

    def trusted(self) -> dict[str, str]:
        return {self.issuer: self.jwks_url, **self.extra_issuers}


class Principal(BaseModel):
    """Who is calling, as established from a verified token."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(description="`sub`: a user id, or `apikey:<id>` for an outside system.")
    kind: Literal["user", "api_key"] = "user"
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    opd_id: str | None = None
    vendor_id: str | None = None
    username: str | None = None
    issuer: str | None = None
    token_id: str | None = None
    session_id: str | None = None
    expires_at: datetime | None = None

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def has_scope(self, *scopes: str) -> bool:
        return all(scope in self.scopes for scope in scopes)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


class AuthError(ProblemError):
    """401 with a ``WWW-Authenticate`` challenge (RFC 6750)."""

    def __init__(self, detail: str, *, error: str | None = "invalid_token") -> None:
        challenge = 'Bearer realm="eproc"'
        if error:
            safe = detail.replace('"', "'")
            challenge += f', error="{error}", error_description="{safe}"'
        super().__init__(401, "Unauthorized", detail, slug="unauthorized", headers={"WWW-Authenticate": challenge})


class KeySetUnavailable(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(503, "Cannot verify tokens", detail, slug="jwks-unavailable", headers={"Retry-After": "5"})


class KeySet:
    """A cached JWKS: fetched at most every ``cache_s``, and again (throttled) when a ``kid`` is unknown.

    ``fetch`` returns the JWKS document; for a remote issuer use :meth:`from_url`.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[dict[str, Any]]],
        *,
        cache_s: float = 300,
        min_refresh_s: float = 10,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.cache_s = cache_s
        self.min_refresh_s = min_refresh_s
        self._monotonic = monotonic
        self._keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str, client: httpx.AsyncClient, **kwargs: Any) -> KeySet:
        async def fetch() -> dict[str, Any]:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]

        return cls(fetch, **kwargs)

    async def find(self, kid: str | None) -> tuple[jwt.PyJWK, str | None] | None:
        """The key with this ``kid`` and the ``alg`` its JWKS entry pins (if any)."""
        now = self._monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.cache_s
        missing = kid not in self._keys if kid else len(self._keys) != 1
        may_refresh = self._fetched_at is None or now - self._fetched_at >= self.min_refresh_s
        if stale or (missing and may_refresh):
            await self._refresh()
        if kid:
            return self._keys.get(kid)
        # A token without `kid` is accepted only when the issuer publishes exactly one key.
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                document = await self._fetch()
                keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}
                for entry in document.get("keys", []):
                    if entry.get("use", "sig") != "sig":
                        continue
                    try:
                        key = jwt.PyJWK(entry)
                    except jwt.PyJWTError as exc:
                        log.warning("ignoring unusable JWKS key %s: %s", entry.get("kid"), exc)
                        continue
                    keys[entry.get("kid") or f"_nokid{len(keys)}"] = (key, entry.get("alg"))
                self._keys = keys
                self._fetched_at = self._monotonic()
            except Exception as exc:
                if self._keys:
                    log.warning("JWKS refresh failed, keeping the %d cached keys: %r", len(self._keys), exc)
                    self._fetched_at = self._monotonic()
                    return
                raise KeySetUnavailable(f"The token issuer's keys cannot be fetched: {exc!r}") from exc


#: Verified tokens are remembered (signature and claims; their times are checked on every use) for this long, so
#: a client's burst of requests costs one signature check. It changes nothing about a withdrawn key: the key set
#: itself is kept for AUTH_JWKS_CACHE_S (5 min) anyway, and services take a token until it expires.
VERIFIED_CACHE_S = 60.0
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    exp: float
    iat: float
    nbf: float | None
    checked_at: float


class TokenVerifier:
    """Verifies bearer tokens of the trusted issuers and turns them into a :class:`Principal`.

    ``key_sets`` maps issuer to :class:`KeySet`; by default one remote set per trusted issuer.
    ``clock`` is injectable so expiry can be tested without sleeping.
    """

    def __init__(
        self,
        settings: AuthSettings | None = None,
        *,
        key_sets: dict[str, KeySet] | None = None,
        clock: Clock = utcnow,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings or AuthSettings()
        self.clock = clock
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=self.settings.jwks_timeout_s)
        self.key_sets: dict[str, KeySet] = dict(key_sets or {})
        for issuer, url in self.settings.trusted().items():
            self.key_sets.setdefault(
                issuer,
                KeySet.from_url(
                    url,
                    self.http,
                    cache_s=self.settings.jwks_cache_s,
                    min_refresh_s=self.settings.jwks_min_refresh_s,
                ),
            )
        self.algorithms = [a for a in self.settings.algorithms if a in ASYMMETRIC_ALGORITHMS]
        self._verified: dict[str, _Verified] = {}

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def verify(self, token: str) -> Principal:
        now = self.clock().timestamp()
        cached = self._verified.get(token)
        if cached is None or now - cached.checked_at > VERIFIED_CACHE_S:
            cached = await self._verify_signature(token, now)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = cached
        leeway = self.settings.leeway_s
        if cached.exp <= now - leeway:
            raise AuthError("The token has expired.")
        if cached.iat > now + leeway or (cached.nbf is not None and cached.nbf > now + leeway):
            raise AuthError("The token is not valid yet.")
        return cached.principal

    async def _verify_signature(self, token: str, now: float) -> _Verified:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError("The token is malformed.") from exc
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AuthError(f"Tokens signed with {alg!r} are not accepted.")
        issuer = unverified.get("iss")
        key_set = self.key_sets.get(issuer) if isinstance(issuer, str) else None
        if key_set is None:
            raise AuthError("The token comes from an issuer this platform does not trust.")
        found = await key_set.find(header.get("kid"))
        if found is None:
            raise AuthError("The token is signed with a key the issuer does not publish.")
        key, pinned_alg = found
        if key.key_type != _KEY_TYPES.get(alg, _KEY_TYPES.get(alg[:2], "")) or pinned_alg not in (None, alg):
            raise AuthError("The token's algorithm does not match its key.")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=issuer,
                # Time claims are checked below against the injectable clock.
                options={
                    "require": ["exp", "iat", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError as exc:
            raise AuthError("The token is meant for another audience.") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("The token's signature or claims are invalid.") from exc
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
            nbf = float(claims["nbf"]) if "nbf" in claims else None
        except (TypeError, ValueError) as exc:
            raise AuthError("The token's time claims are invalid.") from exc
        return _Verified(self.principal_from(claims, issuer), exp, iat, nbf, now)

    def principal_from(self, claims: dict[str, Any], issuer: str) -> Principal:
        s = self.settings
        roles = _dig(claims, s.roles_claim)
        scope = claims.get("scope", claims.get("scp", ""))
        scopes = scope.split() if isinstance(scope, str) else list(scope or [])
        kind = "api_key" if claims.get("kind") == "api_key" else "user"
        opd, vendor = _dig(claims, s.opd_claim), _dig(claims, s.vendor_claim)
        return Principal(
            subject=str(claims["sub"]),
            kind=kind,
            # A role the platform does not know (Keycloak's offline_access...) means nothing here.
            roles=frozenset(r for r in (roles if isinstance(roles, list) else []) if r in ROLES),
            scopes=frozenset(str(x) for x in scopes),
            opd_id=str(opd) if opd else None,
            vendor_id=str(vendor) if vendor else None,
            username=_dig(claims, s.username_claim),
            issuer=issuer,
            token_id=claims.get("jti"),
            session_id=claims.get("sid"),
            expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
        )


def _dig(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Send the access token as `Authorization: Bearer <token>`.", error="invalid_request")
    return token.strip()


def install_auth(app: FastAPI, verifier: TokenVerifier) -> None:
    """Use this verifier for the app's auth dependencies (otherwise one is made from AuthSettings on first use)."""
    app.state.token_verifier = verifier


def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        verifier = TokenVerifier(AuthSettings())
        request.app.state.token_verifier = verifier
    return verifier


async def optional_principal(request: Request) -> Principal | None:
    """The caller if it sent a token (which must then be valid), else ``None``."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    principal = await get_verifier(request).verify(token)
    request.state.principal = principal
    return principal


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise AuthError("Sign in: this needs an access token.", error=None)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def forbidden(detail: str) -> ProblemError:
    return ProblemError(403, "Forbidden", detail, slug="forbidden")


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency returning the caller if it holds one of ``roles`` (403 otherwise)."""
    wanted = [str(r) for r in roles]
    unknown = set(wanted) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*wanted):
            raise forbidden(f"This needs one of the roles: {', '.join(wanted)}.")
        return principal

    return dependency


def require_scopes(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency returning the caller if it is a user, or an API key holding every one of ``scopes``."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.kind == "api_key" and not principal.has_scope(*scopes):
            raise forbidden(f"This API key lacks the scopes: {', '.join(scopes)}.")
        return principal

    return dependency


def requires(*roles: str) -> Any:
    """``dependencies=[requires(Role.PPK, Role.ADMIN)]`` on a route or router."""
    return Depends(require_roles(*roles))


# Object-level rules -----------------------------------------------------------------------


def ensure_opd(principal: Principal, opd_id: str | None, *, roles: Iterable[str] = OFFICIAL_ROLES) -> None:
    """An official acts only on its own OPD's objects (a PPK manages only its OPD's packages).

    Admins pass. Anyone else must hold one of ``roles`` and belong to ``opd_id``; 403 otherwise.
    """
    if principal.is_admin:
        return
    if not principal.has_role(*roles):
        raise forbidden("Your role cannot act on this agency's records.")
    if not principal.opd_id or principal.opd_id != opd_id:
        raise forbidden("This record belongs to another agency (OPD).")


def ensure_own_vendor(principal: Principal, vendor_id: str | None, *, what: str = "record") -> None:
    """A vendor user sees only its own company's bids, contracts and profile.

    Answers 404 rather than 403, so that a vendor cannot learn which other vendors' records exist.
    Officials are not judged here: their access follows their role and OPD rules.
    """
    if principal.has_role(Role.VENDOR) and not (principal.vendor_id and principal.vendor_id == vendor_id):
        raise ProblemError(404, "Not found", f"No such {what}.", slug="not-found")


def vendor_filter(principal: Principal) -> str | None:
    """For list queries: the vendor id to restrict to (a vendor user), or ``None`` (not a vendor)."""
    if principal.has_role(Role.VENDOR):
        if not principal.vendor_id:
            raise forbidden("This vendor account is not linked to a vendor.")
        return principal.vendor_id
    return None
