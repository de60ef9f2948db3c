"""The portal's pages: each reads the services' public APIs server-side and renders HTML."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import FileResponse, Response

from eproc_gateway.portal.charts import Bar, bar_chart, meter
from eproc_gateway.portal.formatting import JAKARTA, basis_points, rupiah
from eproc_gateway.portal.i18n import CODES, labeller, translator
from eproc_gateway.portal.rendering import PREFIX, STATIC, error_page, language, render
from eproc_gateway.portal.upstream import PortalError, PublicApi

log = logging.getLogger(__name__)
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
KBLI = re.compile(r"\d{5}")
MAX_FLAG_PAGES = 20  # the audit lists flags oldest first: the dashboard pages to the newest, within reason


class PortalRoute(APIRoute):
    """Every failure of a page ends as an HTML page with its status: 400, 404, 503, or a plain 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except PortalError as exc:
                return error_page(request, exc.status, exc.detail, exc.service)
            except Exception:
                log.exception("portal page %s failed", request.url.path)
                return error_page(request, 500)

        return guarded


router = APIRouter(prefix=PREFIX, route_class=PortalRoute, include_in_schema=False)


def api(request: Request) -> PublicApi:
    return request.app.state.portal_api  # type: ignore[no-any-return]


async def optional(call: Awaitable[Any]) -> tuple[Any, bool]:
    """A secondary section's data, and whether it failed (the page still renders without it)."""
    try:
        return await call, False
    except PortalError as exc:
        return None, exc.status != 404


def jakarta_year() -> int:
    from datetime import UTC, datetime

    return datetime.now(UTC).astimezone(JAKARTA).year


def parse_year(raw: str | None, t: Callable[..., str]) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise PortalError(400, t("search.bad_year"))
    return int(value)


def choice(raw: str | None, kind: str, field: str, t: Callable[..., str]) -> str | None:
    if not raw:
        return None
    if raw not in CODES[kind]:
        raise PortalError(400, t("search.bad_choice", field=field))
    return raw


def page_size(raw: str | None, default: int = 20) -> int:
    return min(int(raw), 100) if raw and raw.isdigit() and int(raw) > 0 else default


def text(raw: str | None, limit: int = 100) -> str | None:
    value = (raw or "").strip()[:limit]
    return value or None


# Pages ---------------------------------------------------------------------------------------


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    latest = await api(request).get("tender", "/public/packages", {"limit": 5}, expect="items")
    return render(request, "home.html", nav="home", packages=latest["items"])


@router.get("/pengumuman")
async def packages(request: Request) -> Response:
    t = translator(language(request))
    qp = request.query_params
    filters = {
        "q": text(qp.get("q")),
        "opd_id": text(qp.get("opd_id")),
        "method": qp.get("method") or None,
        "procurement_type": qp.get("procurement_type") or None,
        "status": qp.get("status") or None,
        "fiscal_year": qp.get("fiscal_year") or None,
    }
    problem, field = None, None
    try:
        choice(filters["method"], "method", t("search.method"), t)
        choice(filters["procurement_type"], "type", t("search.type"), t)
        choice(filters["status"], "status", t("search.status"), t)
        parse_year(filters["fiscal_year"], t)
        if filters["q"] is not None and len(filters["q"]) < 2:
            problem, field = t("search.q_short"), "q"
    except PortalError as exc:
        problem = exc.detail
    if problem:
        return render(
            request, "packages.html", status=400, nav="packages", filters=filters, items=[], problem=problem,
            problem_field=field, next_cursor=None, searched=True,
        )  # fmt: skip
    params = {**filters, "cursor": qp.get("cursor"), "limit": page_size(qp.get("limit"))}
    page = await api(request).get("tender", "/public/packages", params, expect="items")
    return render(
        request, "packages.html", nav="packages", filters=filters, items=page["items"],
        next_cursor=page.get("next_cursor"), searched=any(filters.values()), problem=None, problem_field=None,
    )  # fmt: skip


@router.get("/pengumuman/{package_id}")
async def package(request: Request, package_id: str) -> Response:
    reader = api(request)
    pkg = await reader.get("tender", f"/public/packages/{package_id}", expect="schedule")
    (contracts, contracts_failed), (flags, flags_failed), (prefix, _) = await asyncio.gather(
        optional(reader.get("contract", "/public/contracts", {"package_id": package_id}, expect="items")),
        optional(reader.get("audit", "/public/red-flags", {"package_id": package_id, "limit": 100}, expect="items")),
        optional(reader.ocid_prefix()),
    )
    results = sorted(pkg.get("results") or [], key=lambda r: (r.get("rank") is None, r.get("rank") or 0))
    return render(
        request, "package.html", nav="packages", pkg=pkg, results=results,
        contracts=(contracts or {}).get("items", []), contracts_failed=contracts_failed,
        flags=(flags or {}).get("items", []), flags_failed=flags_failed,
        ocds_url=f"/api/audit/public/ocds/records/{prefix}{package_id}" if prefix else "/api/audit/public/ocds/records",
    )  # fmt: skip


@router.get("/penyedia")
async def vendors(request: Request) -> Response:
    t = translator(language(request))
    qp = request.query_params
    filters = {
        "q": text(qp.get("q")),
        "city": text(qp.get("city"), 120),
        "kbli": text(qp.get("kbli"), 5),
        "size_class": qp.get("size_class") or None,
    }
    choice(filters["size_class"], "size", t("vendors.size"), t)
    if filters["kbli"] and not KBLI.fullmatch(filters["kbli"]):
        raise PortalError(400, t("vendors.bad_kbli"))
    page = await api(request).get(
        "vendor",
        "/public/vendors",
        {**filters, "cursor": qp.get("cursor"), "limit": page_size(qp.get("limit"))},
        expect="items",
    )
    return render(
        request, "vendors.html", nav="vendors", filters=filters, items=page["items"],
        next_cursor=page.get("next_cursor"),
    )  # fmt: skip


@router.get("/penyedia/{vendor_id}")
async def vendor(request: Request, vendor_id: str) -> Response:
    reader = api(request)
    profile = await reader.get("vendor", f"/public/vendors/{vendor_id}", expect="track_record")
    flags, flags_failed = await optional(
        reader.get("audit", "/public/red-flags", {"vendor_id": vendor_id}, expect="items")
    )
    return render(
        request, "vendor.html", nav="vendors", v=profile, flags=(flags or {}).get("items", []),
        flags_failed=flags_failed,
    )  # fmt: skip


@router.get("/daftar-hitam")
async def blacklist(request: Request) -> Response:
    include_past = request.query_params.get("include_past") in ("1", "true", "on")
    entries = await api(request).get("vendor", "/public/blacklist", {"include_past": str(include_past).lower()})
    if not isinstance(entries, list):
        raise PortalError(503, service="vendor")
    return render(request, "blacklist.html", nav="blacklist", entries=entries, include_past=include_past)


@router.get("/kontrak")
async def contracts(request: Request) -> Response:
    qp = request.query_params
    opd_id = text(qp.get("opd_id"))
    page = await api(request).get(
        "contract",
        "/public/contracts",
        {"opd_id": opd_id, "cursor": qp.get("cursor"), "limit": page_size(qp.get("limit"))},
        expect="items",
    )
    return render(
        request, "contracts.html", nav="contracts", opd_id=opd_id, items=page["items"],
        next_cursor=page.get("next_cursor"),
    )  # fmt: skip


@router.get("/kontrak/{contract_id}")
async def contract(request: Request, contract_id: str) -> Response:
    reader = api(request)
    c = await reader.get("contract", f"/public/contracts/{contract_id}", expect="current_value")
    progress, progress_failed = await optional(
        reader.get("contract", f"/public/contracts/{contract_id}/progress", expect="milestones")
    )
    added = c["current_value"] - c["original_value"] if isinstance(c.get("current_value"), int) else None
    return render(
        request, "contract.html", nav="contracts", c=c, added=added,
        milestones=(progress or {}).get("milestones", []), progress_failed=progress_failed,
    )  # fmt: skip


@router.get("/dasbor")
async def dashboard(request: Request) -> Response:
    lang = language(request)
    t, label = translator(lang), labeller(lang)
    qp = request.query_params
    year = parse_year(qp.get("year"), t) or jakarta_year()
    opd_id = text(qp.get("opd_id"))
    reader = api(request)
    opds: dict[str, Any] = {}
    if opd_id:
        indicators = await reader.get_or_none("audit", f"/public/indicators/{year}/opd/{opd_id}", expect="packages")
    else:
        everything = await reader.get("audit", f"/public/indicators/{year}", expect="opds")
        indicators, opds = everything["city"], everything["opds"]
    flags, flags_failed, last_flag_id = await _latest_flags(reader, opd_id)
    charts = _charts(indicators, t, label, lang) if indicators and indicators.get("packages") else None
    return render(
        request, "dashboard.html", status=200 if indicators is not None else 404, nav="dashboard", year=year,
        opd_id=opd_id, ind=indicators, opds=opds, charts=charts, flags=flags, flags_failed=flags_failed,
        last_flag_id=last_flag_id, flag_labels={k: label("flag", k) for k in CODES["flag"]},
    )  # fmt: skip


async def _latest_flags(reader: PublicApi, opd_id: str | None) -> tuple[list[dict[str, Any]], bool, int]:
    newest: list[dict[str, Any]] = []
    cursor = None
    try:
        for _ in range(MAX_FLAG_PAGES):
            page = await reader.get(
                "audit", "/public/red-flags", {"opd_id": opd_id, "cursor": cursor, "limit": 500}, expect="items"
            )
            newest = (newest + page["items"])[-20:]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    except PortalError:
        return [], True, 0
    return list(reversed(newest)), False, max((f["id"] for f in newest), default=0)


def _charts(ind: dict[str, Any], t: Callable[..., str], label: Callable[[str, Any], str], lang: str) -> dict[str, Any]:
    methods = sorted(ind.get("by_method", {}).items(), key=lambda kv: -kv[1]["packages"])
    return {
        "mix": bar_chart(
            t("dash.method_mix"), [Bar(label("method", m), (v["packages"],)) for m, v in methods],
        ),
        "value": bar_chart(
            t("dash.method_value"), [Bar(label("method", m), (v["hps"], v["contract_value"])) for m, v in methods],
            series=(t("pkg.hps"), t("dash.value")), fmt=rupiah,
        ),
        "efficiency": bar_chart(
            t("dash.efficiency_chart"),
            [
                Bar(t("pkg.pagu"), (ind.get("efficiency_pagu_total", 0),)),
                Bar(t("pkg.hps"), (ind.get("efficiency_hps_total", 0),)),
                Bar(t("dash.value"), (ind.get("efficiency_value_total", 0),)),
            ],
            fmt=rupiah,
        ),
        **{
            name: meter(t(key), ind.get(field), basis_points(ind.get(field), lang))
            for name, key, field in (
                ("eff_hps", "dash.eff_hps", "efficiency_vs_hps_bp"),
                ("eff_pagu", "dash.eff_pagu", "efficiency_vs_pagu_bp"),
                ("e_contract", "dash.e_contract", "e_contract_bp"),
            )
        },
    }  # fmt: skip


@router.get("/audit")
async def audit(request: Request) -> Response:
    reader = api(request)
    latest, keys = await asyncio.gather(
        reader.get_or_none("audit", "/public/checkpoints/latest", expect="signed_payload"),
        reader.get("audit", "/public/keys", expect="keys"),
    )
    return render(request, "audit.html", nav="audit", cp=latest, keys=keys.get("keys", []))


@router.get("/data")
async def open_data(request: Request) -> Response:
    return render(request, "data.html", nav="data")


@router.get("/static/{name}")
async def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise PortalError(404)
    return FileResponse(
        path, media_type=STATIC_TYPES[path.suffix], headers={"cache-control": "public, max-age=31536000, immutable"}
    )


@router.get("/{rest:path}")
async def unknown(rest: str) -> Response:
    raise PortalError(404)
