"""RFC 9457 problem details: every error of every service has this one shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from eproc_shared.logging_setup import request_id_var

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://eproc.tangerangkota.go.id/problems/"


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending field, for example items.2.price.")
    location: str = Field(description="Where the field was: body, query, path, header or cookie.")
    message: str
    code: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


class ProblemError(Exception):
    """Raise from a route or a domain service to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        slug: str | None = None,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.errors = errors
        self.headers = headers


def problem_response(
    request: Request | None,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + slug if slug else "about:blank",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        request_id=request_id_var.get(),
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def validation_problems(errors: Any) -> list[FieldProblem]:
    problems = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else "body"
        path = loc[1:] if loc and loc[0] == location else loc
        problems.append(
            FieldProblem(field=".".join(path) or location, location=location, message=err["msg"], code=err["type"])
        )
    return problems


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc.errors())
        fields = ", ".join(p.field for p in problems)
        return problem_response(
            request, 422, "Invalid request", f"Check these fields: {fields}", slug="validation", errors=problems
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}.get(
            exc.status_code, "Request failed"
        )
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, exc.status_code, title, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two requests raced on the same record (the unique constraints caught it); the transaction
        # rolled back whole, so the caller can simply retry.
        log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(
            request,
            409,
            "Conflicting change",
            "Another change to the same record was saved at the same moment; nothing of this request was saved. "
            "Retry the request.",
            slug="conflict",
        )

    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return problem_response(
            request,
            503,
            "Database unavailable",
            "The database could not be reached or was busy; nothing was changed. Retry shortly.",
            slug="database-unavailable",
            headers={"Retry-After": "2"},
        )

    # A refused connection reaches us unwrapped from asyncpg; a lost or busy one as OperationalError.
    for unavailable in (OperationalError, InterfaceError, ConnectionError):
        app.add_exception_handler(unavailable, _database_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            500,
            "Internal error",
            "The server failed to handle this request; nothing was changed. "
            "Retry, and report the request_id if it persists.",
        )
