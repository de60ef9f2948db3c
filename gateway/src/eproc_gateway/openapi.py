"""One OpenAPI document: the gateway's own routes and every service's, with paths as seen through the gateway."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def prefix_service(document: dict[str, Any], service: str) -> dict[str, Any]:
    """A service's document rewritten for the gateway: paths under /api/<service>, components namespaced."""
    renames: dict[str, str] = {}
    components: dict[str, dict[str, Any]] = {}
    for section in COMPONENT_SECTIONS:
        for name, value in (document.get("components", {}).get(section) or {}).items():
            new = f"{service}.{name}"
            renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{new}"
            components.setdefault(section, {})[new] = value

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (renames.get(v, v) if k == "$ref" and isinstance(v, str) else rewrite(v)) for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    paths: dict[str, Any] = {}
    for path, item in (document.get("paths") or {}).items():
        item = rewrite(copy.deepcopy(item))
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            operation["tags"] = [f"{service}: {t}" for t in operation.get("tags", [])] or [service]
            if "operationId" in operation:
                operation["operationId"] = f"{service}_{operation['operationId']}"
        paths[f"/api/{service}{path}"] = item
    return {"paths": paths, "components": rewrite(components)}


def merge(gateway: dict[str, Any], services: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    merged = copy.deepcopy(gateway)
    merged.setdefault("paths", {})
    merged.setdefault("components", {})
    unavailable = []
    for service, document in sorted(services.items()):
        if document is None:
            unavailable.append(service)
            continue
        part = prefix_service(document, service)
        merged["paths"].update(part["paths"])
        for section, entries in part["components"].items():
            merged["components"].setdefault(section, {}).update(entries)
    merged["components"].setdefault("securitySchemes", {}).update(
        {
            "bearer": {
                "type": "oauth2",
                "description": "Sign in at POST /auth/token; send `Authorization: Bearer <access_token>`.",
                "flows": {"password": {"tokenUrl": "/auth/token", "refreshUrl": "/auth/token", "scopes": {}}},
            },
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "Outside systems."},
        }
    )
    merged["security"] = [{}, {"bearer": []}, {"apiKey": []}]
    merged.setdefault(
        "externalDocs",
        {"description": "Events of the public topics (AsyncAPI 3.0)", "url": "/asyncapi.json"},
    )
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
        merged["info"]["description"] = (
            merged["info"].get("description", "")
            + f"\n\nNot listed because they did not answer: {', '.join(unavailable)}."
        )
    return merged


class MergedOpenAPI:
    """Fetches each service's document (in parallel, short timeout) and caches the merge briefly."""

    def __init__(
        self,
        gateway_document: Callable[[], dict[str, Any]],
        upstreams: dict[str, str],
        client: httpx.AsyncClient,
        *,
        cache_s: float,
        timeout_s: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway_document = gateway_document
        self.upstreams = upstreams
        self.client = client
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self.monotonic = monotonic
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str, base: str) -> dict[str, Any] | None:
        try:
            response = await self.client.get(f"{base.rstrip('/')}/openapi.json", timeout=self.timeout_s)
            response.raise_for_status()
            document = response.json()
            return document if isinstance(document, dict) else None
        except (httpx.HTTPError, ValueError) as exc:
            log.info("openapi of %s unavailable: %r", service, exc)
            return None

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            if self._cached is not None and self.monotonic() - self._cached[0] < self.cache_s:
                return self._cached[1]
            names = list(self.upstreams)
            fetched = await asyncio.gather(*(self._fetch(n, self.upstreams[n]) for n in names))
            services = dict(zip(names, fetched, strict=True))
            merged = merge(self.gateway_document(), services)
            if all(d is not None for d in fetched):
                self._cached = (self.monotonic(), merged)  # an incomplete document is not kept
            return merged
