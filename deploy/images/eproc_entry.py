#!/usr/bin/env python3
"""The command of every image: ``eproc serve`` runs the process, ``eproc migrate`` upgrades its database,
``eproc health`` asks the running process whether it is alive (the image's HEALTHCHECK).

Which process is named by ``EPROC_SERVICE`` (tender, vendor, contract, audit, notify or gateway), baked
into each image and set again by the Kubernetes manifests. Settings come from the environment as usual
(``<PREFIX>_HOST``, ``<PREFIX>_PORT``, ``<PREFIX>_DATABASE_URL``...); the image sets
``EPROC_DEFAULT_HOST=0.0.0.0``, used when ``<PREFIX>_HOST`` is not set, because a process in a container
must listen beyond its own loopback.

``migrate`` runs once per pod as an init container, before the replicas serve with
``<PREFIX>_RUN_MIGRATIONS=false``. On PostgreSQL it holds an advisory lock while Alembic runs, so when a
rollout starts several pods at once the first applies the migrations and the others wait for it and then
find nothing left to do: the schema changes once per rollout, never concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
from pathlib import Path

from sqlalchemy import text

from eproc_shared.db import create_engine, is_sqlite, upgrade
from eproc_shared.settings import ServiceSettings

# pg_advisory_lock key shared by every migrator of one database ("eproc" in ASCII).
MIGRATION_LOCK_KEY = 0x6570726F63


def load(service: str) -> tuple[str, ServiceSettings, Path]:
    """The ASGI factory, the settings (read from the environment) and the migrations of a process."""
    package = f"eproc_{service}"
    try:
        module = importlib.import_module(f"{package}.settings")
    except ModuleNotFoundError as exc:
        raise SystemExit(f"eproc: unknown service {service!r} (no module {package}.settings)") from exc
    classes = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings) and cls is not ServiceSettings and cls.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise SystemExit(f"eproc: expected one settings class in {module.__name__}, found {len(classes)}")
    default_host = os.environ.get("EPROC_DEFAULT_HOST")
    if default_host:
        os.environ.setdefault(f"{classes[0].model_config.get('env_prefix', '')}HOST", default_host)
    migrations = Path(importlib.import_module(package).__file__ or "").parent / "migrations"
    return f"{package}.main:create_app", classes[0](), migrations


async def migrate(settings: ServiceSettings, migrations: Path) -> None:
    url = settings.database_url
    if is_sqlite(url):
        # One file, one writer at a time already (BEGIN IMMEDIATE); there is nothing to coordinate.
        engine = create_engine(url)
        try:
            await upgrade(engine, migrations)
        finally:
            await engine.dispose()
        return
    lock_engine = create_engine(url, pool_size=1)
    engine = create_engine(url, pool_size=1)
    try:
        async with lock_engine.connect() as lock:
            await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                await upgrade(engine, migrations)
            finally:
                await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    finally:
        await engine.dispose()
        await lock_engine.dispose()


def health(settings: ServiceSettings) -> int:
    import httpx

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    try:
        response = httpx.get(f"http://{host}:{settings.port}/health/live", timeout=3)
    except httpx.HTTPError as exc:
        print(f"eproc: {exc!r}", file=sys.stderr)
        return 1
    return 0 if response.status_code == 200 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eproc", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "migrate", "health"])
    parser.add_argument("--service", default=os.environ.get("EPROC_SERVICE"), help="default: $EPROC_SERVICE")
    args = parser.parse_args(argv)
    if not args.service:
        parser.error("name the service with --service or EPROC_SERVICE")
    factory, settings, migrations = load(args.service)
    if args.command == "migrate":
        asyncio.run(migrate(settings, migrations))
        print(f"eproc: {args.service} database is at the latest migration", file=sys.stderr)
        return 0
    if args.command == "health":
        return health(settings)
    from eproc_shared.serve import run

    run(factory, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
