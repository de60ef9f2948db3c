"""``eproc-verify-audit``: recompute the audit log's hash chain from its database and check the checkpoints.

Exit status 0 when the log checks out, 1 when an entry is bad (the report names the first), 2 when
the database cannot be read. Reads ``AUDIT_DATABASE_URL`` unless ``--database-url`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from eproc_audit.settings import AuditSettings
from eproc_audit.verification import VerificationReport, verify_chain
from eproc_audit.verify_pool import VerifierPool
from eproc_shared.db import create_engine, session_factory


async def run(database_url: str, *, batch_size: int, deep: bool, workers: int = 1) -> VerificationReport:
    engine = create_engine(database_url, pool_size=1)
    pool = VerifierPool(workers)
    try:
        sessions = session_factory(engine, readonly=True)
        return await verify_chain(sessions, batch_size=batch_size, deep=deep, pool=pool)
    finally:
        pool.close()
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eproc-verify-audit", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of the audit database (default: AUDIT_DATABASE_URL).")
    parser.add_argument("--batch-size", type=int, default=None, help="Entries read per batch.")
    parser.add_argument(
        "--chain-only", action="store_true", help="Only the hashes and checkpoints, not the query columns (faster)."
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="Processes checking the chain (default: AUDIT_VERIFY_WORKERS)."
    )
    args = parser.parse_args(argv)
    settings = AuditSettings(**({"database_url": args.database_url} if args.database_url else {}))
    try:
        report = asyncio.run(
            run(
                settings.database_url,
                batch_size=args.batch_size or settings.verify_batch_size,
                deep=not args.chain_only,
                workers=args.workers or settings.verify_workers,
            )
        )
    except Exception as exc:
        print(f"eproc-verify-audit: cannot read the audit log: {exc!r}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
