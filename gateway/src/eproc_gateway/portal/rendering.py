"""Jinja2 environment, the per-request page context (language, switch link) and the HTML responses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from eproc_gateway.portal import formatting as f
from eproc_gateway.portal.i18n import CODES, COOKIE, LANGUAGES, labeller, pick, translator

HERE = Path(__file__).parent
STATIC = HERE / "static"
PREFIX = "/portal"
ASYNCAPI_URL = "/asyncapi.json"  # served by the gateway (public topics)
COOKIE_MAX_AGE_S = 365 * 86_400

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Static files are fingerprinted so browsers may keep them for a year.
STATIC_VERSION = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(STATIC.iterdir()) if p.is_file())).hexdigest()[
    :12
]


def language(request: Request) -> str:
    return pick(request.query_params.get("lang"), request.cookies.get(COOKIE))


def url_with(request: Request, **changes: Any) -> str:
    """The current page's URL with some query parameters replaced (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def page_context(request: Request, lang: str) -> dict[str, Any]:
    other = next(code for code in LANGUAGES if code != lang)
    return {
        "lang": lang,
        "t": translator(lang),
        "label": labeller(lang),
        "switch_lang": other,
        "switch_url": url_with(request, lang=other),
        "path": request.url.path,
        "cursor": request.query_params.get("cursor"),
        "origin": str(request.base_url).rstrip("/"),
        "codes": CODES,
        "prefix": PREFIX,
        "asyncapi_url": ASYNCAPI_URL,
        "static": lambda name: f"{PREFIX}/static/{name}?v={STATIC_VERSION}",
        "url_with": lambda **changes: url_with(request, **changes),
        "rupiah": f.rupiah,
        "bp": lambda value: f.basis_points(value, lang),
        "share": f.share_bp,
        "when": lambda value: f.jakarta_time(value, lang),
        "iso": f.iso_jakarta,
        "day": lambda value: f.calendar_date(value, lang),
        "duration": lambda value: f.duration(value, lang),
        "hundredths": lambda value: f.hundredths(value, lang),
        "grouped": f.grouped,
        "now_year": datetime.now(UTC).astimezone(f.JAKARTA).year,
    }


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    lang = language(request)
    body = env.get_template(template).render(**page_context(request, lang), **values)
    response = HTMLResponse(body, status_code=status)
    headers = response.headers
    headers["content-language"] = lang
    # The language comes from the cookie as well as the URL: caches must keep one copy per cookie.
    headers["vary"] = "Cookie"
    headers["cache-control"] = "public, max-age=30" if status == 200 else "no-store"
    headers["content-security-policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
    headers["x-content-type-options"] = "nosniff"
    headers["referrer-policy"] = "same-origin"
    requested = request.query_params.get("lang")
    if requested in LANGUAGES and requested != request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, requested, max_age=COOKIE_MAX_AGE_S, path=PREFIX, samesite="lax")
    return response


def error_page(request: Request, status: int, detail: str = "", service: str | None = None) -> HTMLResponse:
    t = translator(language(request))
    if status == 404:
        title, text = t("error.404"), detail or t("error.404_detail")
    elif status == 400:
        title, text = t("error.400"), detail
    elif status == 503:
        title, text = t("error.503"), t("error.503_detail", service=service or "")
    else:
        title, text = t("error.500"), t("error.500_detail")
    response = render(request, "error.html", status=status, title=title, detail=text, status_code=status)
    if status == 503:
        response.headers["retry-after"] = "5"
    return response
