"""What every benchmark shares: percentiles, the JSON result and the PNG plot, and the real stack."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(latencies_s: list[float]) -> dict[str, float]:
    return {f"p{q}": round(percentile(latencies_s, q) * 1000, 2) for q in (50, 90, 99)} | {
        "max": round(max(latencies_s, default=0) * 1000, 2)
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save(name: str, result: dict[str, Any], plot: Callable[[Any], None] | None = None) -> Path:
    """Write bench/results/<name>.json (and <name>.png when a plot is given); print the result."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, "machine": machine()} | result
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=(8, 4.5))
        plot(figure)
        figure.tight_layout()
        figure.savefig(RESULTS / f"{name}.png", dpi=110)
        plt.close(figure)
    return path


def verdict(label: str, value: float, target: float, *, higher_is_better: bool = True, unit: str = "") -> str:
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return f"  {label}: {value:.3g}{unit} (target {sign} {target:g}{unit}) {'MET' if met else 'MISSED'}"


def free_port() -> int:
    from eproc_shared.devstack.embedded_broker import free_port as _free

    return _free()


@dataclass
class Stack:
    var: Path
    ports: dict[str, int]
    bootstrap: str
    launcher: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    ready_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        data = json.loads((self.var / "dev-credentials.json").read_text())["accounts"]
        return {a["role"]: a for a in data}


@contextmanager
def running_stack(var: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """`make run` (the launcher and stack.toml, its own embedded broker) on free ports, under ``var``."""
    var.mkdir(parents=True, exist_ok=True)
    processes = tomllib.loads((ROOT / "stack.toml").read_text())["process"]
    ports = {p["name"]: free_port() for p in processes} | {"broker": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "AUTH_"))}
    for process in processes:
        env[f"{process['env_prefix']}PORT"] = str(ports[process["name"]])
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    env.update(
        EPROC_BROKER_PORT=str(ports["broker"]),
        AUTH_ISSUER=gateway,
        AUTH_JWKS_URL=f"{gateway}/.well-known/jwks.json",
        GATEWAY_DEV_CREDENTIALS_FILE=str(var / "dev-credentials.json"),
    )
    env.update(extra_env or {})
    started = time.monotonic()
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eproc_shared.devstack.launcher",
            "--stack",
            str(ROOT / "stack.toml"),
            "--var",
            str(var),
        ],
        cwd=var,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = Stack(var, ports, f"127.0.0.1:{ports['broker']}", launcher)
    ready = threading.Event()

    def drain() -> None:
        assert launcher.stdout is not None
        for line in launcher.stdout:
            stack.output.append(line)
            if "ready in" in line:
                stack.ready_s = time.monotonic() - started
                ready.set()
            if "cannot start" in line or "stopping" in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(120)
    try:
        if not stack.ready_s:
            raise RuntimeError("the stack did not start:\n" + "".join(stack.output[-40:]))
        yield stack
    finally:
        launcher.terminate()
        try:
            launcher.wait(40)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()
