"""`make bench`: every benchmark in turn, each printing its figures and its ratio against a baseline measured
in the same run; JSON results and PNG plots in bench/results/. Exit status 0 when every benchmark ran
(a missed target is a finding, reported, not a failure of the run)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["audit_verification.py"],
    ["event_pipeline.py"],
    ["startup.py"],
    ["deadline_rush.py"],
    # The same rush with the tender service on PostgreSQL, as production runs it (skipped if none is reachable).
    ["deadline_rush.py", "--tender-database", "postgresql"],
]


def main() -> int:
    failed = []
    for script, *args in [[a] for a in sys.argv[1:]] or BENCHMARKS:
        title = " ".join([script, *args])
        print(f"\n=== {title}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / script), *args], cwd=HERE)
        print(f"=== {title}: {time.monotonic() - started:.0f}s, exit {code}", flush=True)
        if code != 0:
            failed.append(title)
    print(f"\nResults in {HERE / 'results'} (JSON and PNG).")
    if failed:
        print(f"Did not complete: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
