"""Keyset (cursor) pagination: stable under concurrent inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from eproc_shared.problems import FieldProblem, ProblemError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 50


async def page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from a previous page's next_cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([{"$dt": v.isoformat()} if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong width")
        return [datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v for v in values]
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise ProblemError(
            400,
            "Invalid cursor",
            "The cursor is not one this API issued; start again without it.",
            slug="invalid-cursor",
            errors=[FieldProblem(field="cursor", location="query", message=str(exc), code="invalid")],
        ) from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    keys: Sequence[ColumnElement[Any]],
    params: PageParams,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows after the cursor in ascending order of ``keys`` (the last key must be unique); ``descending``
    pages newest first (every key descending)."""
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys))
        position = tuple_(*keys) < tuple_(*after) if descending else tuple_(*keys) > tuple_(*after)
        stmt = stmt.where(position)
    order = [key.desc() for key in keys] if descending else list(keys)
    rows = list((await session.execute(stmt.order_by(*order).limit(params.limit + 1))).all())
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor([last._mapping[key.key] for key in keys])  # type: ignore[attr-defined]
