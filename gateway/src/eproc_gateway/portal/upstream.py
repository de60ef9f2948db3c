"""The portal's reads of the services' public APIs, server-side, with the gateway's own pooled client,
upstream addresses, timeouts and circuit breakers (a failing service fails the portal fast too)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from eproc_gateway.breaker import CircuitOpen
from eproc_gateway.proxy import Proxy
from eproc_shared.logging_setup import request_id_var

log = logging.getLogger(__name__)


class PortalError(Exception):
    """Ends a page with an HTML error page of this status (never a stack trace)."""

    def __init__(self, status: int, detail: str = "", *, service: str | None = None) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.service = service


class PublicApi:
    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        settings = proxy.settings
        self.timeout = httpx.Timeout(settings.upstream_timeout_s, connect=settings.upstream_connect_timeout_s, pool=5.0)
        self._ocid_prefix: str | None = None

    async def get(
        self, service: str, path: str, params: dict[str, Any] | None = None, *, expect: str | None = None
    ) -> Any:
        """JSON of ``GET <service><path>``; 404 and 4xx become PortalError of that status, the rest 503.
        ``expect``: a key the answer must hold (an answer of another shape is the service's fault: 503)."""
        upstream = self.proxy.upstreams.get(service)
        if upstream is None:
            raise PortalError(503, service=service)
        try:
            upstream.breaker.before_call()
        except CircuitOpen as exc:
            raise PortalError(503, service=service) from exc
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        headers = {"accept": "application/json", "x-request-id": request_id_var.get() or ""}
        try:
            response = await self.proxy.client.get(
                upstream.base_url + path, params=query, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            upstream.breaker.failure()
            log.warning("portal: %s %s failed: %r", service, path, exc)
            raise PortalError(503, service=service) from exc
        if response.status_code in (502, 503, 504):
            upstream.breaker.failure()
        else:
            upstream.breaker.success()
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError as exc:
                raise PortalError(503, service=service) from exc
            if expect is not None and not (isinstance(body, dict) and expect in body):
                log.warning("portal: %s %s answered without %r", service, path, expect)
                raise PortalError(503, service=service)
            return body
        if response.status_code == 404:
            raise PortalError(404, service=service)
        if 400 <= response.status_code < 500:
            raise PortalError(400, _problem_detail(response), service=service)
        raise PortalError(503, service=service)

    async def get_or_none(
        self, service: str, path: str, params: dict[str, Any] | None = None, *, expect: str | None = None
    ) -> Any:
        try:
            return await self.get(service, path, params, expect=expect)
        except PortalError as exc:
            if exc.status == 404:
                return None
            raise

    async def ocid_prefix(self) -> str | None:
        """The audit service's OCDS ocid prefix, learnt from any public release (ocid = prefix + package id,
        release id = package id + '-' + seq), so the gateway needs no copy of the audit's setting."""
        if self._ocid_prefix is None:
            body = await self.get("audit", "/public/ocds/releases", {"limit": 1})
            for release in body.get("releases") or []:
                package_id = str(release.get("id", "")).rsplit("-", 1)[0]
                ocid = str(release.get("ocid", ""))
                if package_id and ocid.endswith(package_id):
                    self._ocid_prefix = ocid[: -len(package_id)]
        return self._ocid_prefix


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors") or []
    fields = ", ".join(str(e.get("field")) for e in errors if isinstance(e, dict) and e.get("field"))
    detail = str(body.get("detail") or body.get("title") or "")
    return f"{detail} ({fields})" if fields else detail
