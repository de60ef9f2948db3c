"""The role-based access table: every route the gateway answers, and who may call it.

The gateway checks this table before anything else runs, and refuses any route not listed in
it (deny by default). It is a coarse gate; each service still verifies the token itself and
applies the object-level rules (a PPK acts only on its OPD's packages, a vendor sees only its
own bids and contracts). The first rule whose method and path match decides.

Access kinds:
  public     anyone, signed in or not (public procurement data; rate-limited per IP or per key)
  internal   only from the cluster network and not through the load balancer (metrics scraping)
  user       any signed-in user, whatever the role
  roles      a signed-in user holding one of the listed roles
API keys (outside systems) get in only where a rule lists one of their scopes (or the rule is public).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from eproc_shared.auth import Principal, Role, Scope

Kind = Literal["public", "internal", "user", "roles"]
READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALL = READ | WRITE
POST = frozenset({"POST"})

ADMIN = Role.ADMIN
PPK, POKJA, PP = Role.PPK, Role.POKJA, Role.PEJABAT_PENGADAAN
VERIFIER, VENDOR, AUDITOR = Role.VERIFIER, Role.VENDOR, Role.AUDITOR


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]
    pattern: str
    kind: Kind
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    note: str = ""
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.pattern))

    def matches_path(self, path: str) -> bool:
        return self.regex.fullmatch(path) is not None


def _compile(pattern: str) -> re.Pattern[str]:
    tail = pattern.endswith("/**")
    body = pattern[:-3] if tail else pattern
    regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(body))
    return re.compile(regex + ("(?:/.*)?" if tail else ""))


def public(methods: frozenset[str], pattern: str, note: str = "") -> Rule:
    return Rule(methods, pattern, "public", scopes=frozenset({Scope.PUBLIC_READ}), note=note)


def roles(methods: frozenset[str], pattern: str, *who: str, note: str = "") -> Rule:
    return Rule(methods, pattern, "roles", roles=frozenset(who), note=note)


# fmt: off
ACCESS_TABLE: tuple[Rule, ...] = (
    # The gateway itself
    public(READ, "/health/live", "liveness"),
    public(READ, "/health/ready", "readiness of the gateway and each service"),
    Rule(READ, "/metrics", "internal", note="Prometheus; cluster network only"),
    public(READ, "/openapi.json", "merged API document"),
    public(READ, "/asyncapi.json", "AsyncAPI document of the public topics"),
    public(READ, "/docs", "API explorer"),
    public(READ, "/docs/oauth2-redirect"),
    public(READ, "/.well-known/jwks.json", "public signing keys"),
    public(READ, "/.well-known/openid-configuration"),
    public(POST, "/auth/token", "sign in (password) or refresh"),
    public(POST, "/auth/logout", "revoke a sign-in session"),
    public(POST, "/auth/register/vendor", "vendor self-registration"),
    Rule(READ, "/auth/me", "user", note="who am I"),
    roles(ALL, "/admin/**", ADMIN, note="users, API keys, signing keys"),
    # Public transparency portal: HTML pages built from the public reads below, no sign-in
    public(READ, "/portal/**", "public transparency portal (HTML)"),
    # Public procurement data: announcements, schedules, winners, contract values, indicators, vendor profiles
    public(READ, "/api/tender/public/**"),
    public(READ, "/api/vendor/public/**"),
    public(READ, "/api/contract/public/**"),
    public(READ, "/api/audit/public/**"),
    # Services (coarse gate; object-level rules are the services' own)
    roles(READ, "/api/tender/**", ADMIN, PPK, POKJA, PP, VENDOR, AUDITOR),
    roles(WRITE, "/api/tender/**", ADMIN, PPK, POKJA, PP, VENDOR),
    roles(READ, "/api/vendor/**", ADMIN, VERIFIER, VENDOR, PPK, POKJA, PP, AUDITOR),
    roles(WRITE, "/api/vendor/**", ADMIN, VERIFIER, VENDOR),
    roles(READ, "/api/contract/**", ADMIN, PPK, PP, VENDOR, AUDITOR),
    roles(WRITE, "/api/contract/**", ADMIN, PPK, PP, VENDOR),
    roles(READ, "/api/audit/**", ADMIN, AUDITOR),
    roles(WRITE, "/api/audit/**", ADMIN, note="audit assignments (surat tugas)"),
    Rule(
        ALL,
        "/api/notify/webhooks/**",
        "user",
        scopes=frozenset({Scope.WEBHOOKS_MANAGE}),
        note="webhook endpoints: their owners, admins, and outside systems with the scope",
    ),
    Rule(ALL, "/api/notify/**", "user", note="a user's own notifications"),
)
# fmt: on


@dataclass(frozen=True)
class Decision:
    status: int  # 200 allowed, 401, 403, 404, 405
    rule: Rule | None = None
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200


def find_rule(method: str, path: str, table: tuple[Rule, ...] = ACCESS_TABLE) -> Rule | Literal[False] | None:
    """The deciding rule; ``None`` when no rule has this path; ``False`` when rules have it but not this method."""
    path_known = False
    for rule in table:
        if rule.matches_path(path):
            path_known = True
            if method in rule.methods:
                return rule
    return False if path_known else None


def decide(
    method: str,
    path: str,
    principal: Principal | None,
    *,
    internal_peer: bool = False,
    table: tuple[Rule, ...] = ACCESS_TABLE,
) -> Decision:
    if method == "OPTIONS":
        method = "GET"  # a CORS preflight is answered by the CORS layer; plain OPTIONS as a read
    rule = find_rule(method, path, table)
    if rule is None:
        return Decision(404, None, "No such route.")
    if rule is False:
        return Decision(405, None, f"{method} is not allowed here.")
    if rule.kind == "public":
        if principal is not None and principal.kind == "api_key" and not (principal.scopes & rule.scopes):
            return Decision(403, rule, "This API key has no scope for public data.")
        return Decision(200, rule)
    if rule.kind == "internal":
        return Decision(200, rule) if internal_peer else Decision(404, rule, "No such route.")
    if principal is None:
        return Decision(401, rule, "Sign in: this needs an access token.")
    if principal.kind == "api_key":
        if rule.scopes and principal.scopes & rule.scopes:
            return Decision(200, rule)
        return Decision(403, rule, "API keys cannot call this route.")
    if rule.kind == "user" or principal.roles & rule.roles:
        return Decision(200, rule)
    return Decision(403, rule, f"This needs one of the roles: {', '.join(sorted(rule.roles))}.")


def table_markdown(table: tuple[Rule, ...] = ACCESS_TABLE) -> str:
    """The table as Markdown (the README's copy is checked against it by a test)."""
    lines = ["| methods | path | who | API-key scopes |", "|---|---|---|---|"]
    for rule in table:
        methods = "any" if rule.methods == ALL else ", ".join(sorted(rule.methods))
        who = {"public": "anyone", "internal": "cluster network only", "user": "any signed-in user"}.get(
            rule.kind, ", ".join(sorted(rule.roles))
        )
        scopes = ", ".join(sorted(rule.scopes)) or "-"
        lines.append(f"| {methods} | `{rule.pattern}` | {who} | {scopes} |")
    return "\n".join(lines)
