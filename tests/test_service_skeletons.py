"""Every service: its own distribution, its migrations on SQLite and PostgreSQL, and its HTTP conventions."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from eproc_shared.db import create_engine, upgrade
from eproc_shared.testing import eventually, serve

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["tender", "vendor", "contract", "audit", "notify"]


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_apply_and_are_idempotent(service: str, database_url: str) -> None:
    main = importlib.import_module(f"eproc_{service}.main")
    migrations = Path(main.__file__).parent / "migrations"
    engine = create_engine(database_url)
    try:
        await upgrade(engine, migrations)
        await upgrade(engine, migrations)  # a restart re-runs it: nothing to do, no error
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {"eproc_outbox", "eproc_inbox", "alembic_version"} <= tables
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_service_starts_and_answers_with_the_platform_conventions(service: str, broker, tmp_path) -> None:
    settings_module = importlib.import_module(f"eproc_{service}.settings")
    settings_class = getattr(settings_module, f"{service.capitalize()}Settings")
    settings = settings_class(database_url=f"sqlite+aiosqlite:///{tmp_path / service}.db", broker=broker)
    app = importlib.import_module(f"eproc_{service}.main").create_app(settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:

        async def ready() -> bool:
            return (await client.get("/health/ready")).json().get("status") == "ok"

        await eventually(ready)
        assert (await client.get("/openapi.json")).json()["info"]["title"]
        assert "eproc_outbox_backlog" in (await client.get("/metrics")).text
        missing = await client.get("/no/such/route")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


def test_database_url_is_one_variable_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDER_DATABASE_URL", "postgresql://eproc@db/tender")
    monkeypatch.setenv("VENDOR_DATABASE_URL", "sqlite:///var/other.db")
    from eproc_tender.settings import TenderSettings
    from eproc_vendor.settings import VendorSettings

    assert TenderSettings().database_url == "postgresql+asyncpg://eproc@db/tender"
    assert VendorSettings().database_url == "sqlite+aiosqlite:///var/other.db"
    from eproc_audit.settings import AuditSettings

    assert AuditSettings().database_url == "sqlite+aiosqlite:///var/audit.db"


def test_each_package_is_its_own_distribution_depending_on_shared_only() -> None:
    for folder in [*(ROOT / "services" / s for s in SERVICES), ROOT / "gateway"]:
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        internal = [d for d in project["dependencies"] if d.startswith("eproc-")]
        assert internal == ["eproc-shared"], f"{folder.name} may depend on eproc-shared only, not {internal}"
