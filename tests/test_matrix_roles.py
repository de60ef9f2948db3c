"""The role x route matrix through the real gateway: for every operation of every service's OpenAPI (the
gateway's merged document) and every role plus anonymous, a call the access table refuses is refused with
exactly the table's answer, and nothing answers 2xx outside the table or 5xx at all.

Path parameters are filled with real ids (an announced package, the dev vendor) where the name says what
they are, so that allowed calls reach the service's own object-level checks and not only a 404."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eproc_gateway.access import decide
from eproc_shared.auth import OFFICIAL_ROLES, Principal, Role

METHODS = ("get", "post", "put", "patch", "delete")


def _principal(role: str | None, stack: Any) -> Principal | None:
    if role is None:
        return None
    account = stack.accounts[role]
    return Principal(
        subject="x",
        roles=frozenset({role}),
        opd_id=account.get("opd_id") if role in OFFICIAL_ROLES else None,
        vendor_id=account.get("vendor_id"),
    )


def _fill(path: str, ids: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        for hint, value in ids.items():
            if hint in name:
                return value
        return "matrix-unknown"

    return re.sub(r"\{([^}]+)\}", one, path)


def _call(client: httpx.Client, method: str, path: str, auth: dict[str, str]) -> httpx.Response:
    """One call; a stream (server-sent events) is judged by its status and closed without reading on."""
    with client.stream(method, path, headers=auth, json={} if method != "GET" else None, timeout=15) as answer:
        if not answer.headers.get("content-type", "").startswith("text/event-stream"):
            answer.read()
        return answer


@pytest.mark.slow
def test_no_role_gets_a_2xx_outside_the_access_table(stack: Any) -> None:
    client = stack.client
    document = client.get("/openapi.json").json()
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method in METHODS
        if method in item
    ]
    services = {path.split("/")[2] for _, path in operations}
    assert {"tender", "vendor", "contract", "audit", "notify"} <= services, services
    package_id = stack.announced_package(datetime.now(UTC) + timedelta(days=2))
    ids = {
        "vendor": stack.accounts["vendor"]["vendor_id"],
        "package": package_id,
        "opd": stack.accounts["ppk"]["opd_id"],
        "year": str(datetime.now(UTC).year),
        "kind": "package",
        "ident": package_id,
    }
    if "/api/tender/packages/{id}" in document["paths"]:
        ids["id"] = package_id
    headers: dict[str | None, dict[str, str]] = {None: {}}
    for role in Role:
        headers[role.value] = stack.as_role(role.value)

    outcomes: Counter[tuple[str, int]] = Counter()
    violations: list[str] = []
    started = time.monotonic()
    for method, template in operations:
        path = _fill(template, ids)
        for role, auth in headers.items():
            decision = decide(method, path, _principal(role, stack))
            if decision.rule is not None and decision.rule.kind == "internal":
                continue
            # Reads first, writes last per path would matter for state; every body here is empty, so a
            # write that the table allows stops at validation (422) or the service's own check.
            answer = _call(client, method, path, auth)
            outcomes[(role or "anonymous", answer.status_code // 100)] += 1
            who = role or "anonymous"
            if answer.status_code >= 500:
                violations.append(f"{who} {method} {path}: {answer.status_code} {answer.text[:200]}")
            elif not decision.allowed and answer.status_code != decision.status:
                violations.append(
                    f"{who} {method} {path}: table says {decision.status}, got {answer.status_code} {answer.text[:120]}"
                )
            elif not decision.allowed and 200 <= answer.status_code < 300:
                violations.append(f"{who} {method} {path}: 2xx outside the table")
    assert not violations, "\n".join(violations)
    # The matrix did exercise both sides: refusals by the table and calls that the services answered.
    assert outcomes[("anonymous", 4)] > 0
    assert sum(n for (who, family), n in outcomes.items() if family == 2 and who != "anonymous") > 0
    assert time.monotonic() - started < 60
