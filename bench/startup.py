"""Start-up and footprint: `make run`'s ready time (launcher start to "ready in", broker and every process
answering /health/ready) and the resident memory of the whole stack once idle (the launcher, the broker,
every service and the gateway: the sum of RSS; PSS, which counts shared pages once, where the OS reports it).
Baseline: the same measures for one bare Python interpreter running uvicorn with an empty FastAPI app, to
show what one process costs before any of our code."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from common import running_stack, save, verdict

from eproc_shared.devstack.embedded_broker import free_port

GIB = 1024**3


def footprint(root_pid: int) -> dict[str, Any]:
    root = psutil.Process(root_pid)
    processes = [root, *root.children(recursive=True)]
    per: dict[str, int] = {}
    rss = pss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
            cmd = " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        service = next((p.split(".")[0] for p in process.cmdline() if p.startswith("eproc_") and ":" in p), "")
        name = service.removeprefix("eproc_") or ("broker" if "tansu" in cmd else "launcher")
        per[name] = per.get(name, 0) + info.rss
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return {"processes": len(processes), "rss_bytes": rss, "pss_bytes": pss, "rss_by_process": per}


def bare_process() -> dict[str, Any]:
    port = free_port()
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "fastapi:FastAPI", "--port", str(port), "--log-level", "warning"]
    )
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        ready = time.monotonic() - started
        time.sleep(1)
        rss = psutil.Process(server.pid).memory_info().rss
    finally:
        server.terminate()
        server.wait(10)
    return {"ready_s": round(ready, 2), "rss_bytes": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    bare = bare_process()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp) / "var") as stack:
        time.sleep(args.idle_seconds)  # idle: consumers joined, relays polling, nothing to do
        memory = footprint(stack.launcher.pid)
        ready_s = stack.ready_s
        launcher_says = next((line.strip() for line in stack.output if "ready in" in line), "")
    result = {
        "ready_s": round(ready_s, 2),
        "launcher_line": launcher_says,
        "idle": memory,
        "rss_gib": round(memory["rss_bytes"] / GIB, 3),
        "pss_gib": round(memory["pss_bytes"] / GIB, 3),
        "bare_fastapi_process": bare,
        "ratio_rss_per_process_vs_bare": round(memory["rss_bytes"] / memory["processes"] / bare["rss_bytes"], 2),
        "targets": {"rss_gib": 1.0},
    }

    def plot(figure: Any) -> None:
        axes = figure.add_subplot(1, 1, 1)
        names = sorted(memory["rss_by_process"], key=lambda n: -memory["rss_by_process"][n])
        axes.bar(names, [memory["rss_by_process"][n] / 2**20 for n in names], color="tab:blue", label="RSS")
        axes.axhline(bare["rss_bytes"] / 2**20, color="grey", linestyle="--", label="bare FastAPI process")
        axes.set_ylabel("MiB")
        axes.set_title(f"Idle stack: {result['rss_gib']} GiB RSS in total; ready in {result['ready_s']}s")
        axes.legend()

    save("startup_footprint", result, plot)
    print("Start-up and footprint (make run's launcher and stack.toml)")
    print(f"  ready in {result['ready_s']}s ({launcher_says}); a bare FastAPI process: {bare['ready_s']}s")
    per = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(memory["rss_by_process"].items()))
    print(f"  idle resident memory: {result['rss_gib']} GiB RSS, {result['pss_gib']} GiB PSS")
    print(f"  over {memory['processes']} processes (MiB: {per})")
    bare_mib = bare["rss_bytes"] / 2**20
    print(f"  per process vs a bare FastAPI process ({bare_mib:.0f} MiB): x{result['ratio_rss_per_process_vs_bare']}")
    print(verdict("idle RSS", result["rss_gib"], 1.0, higher_is_better=False, unit=" GiB"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
