"""`make run`'s launcher: broker, topics, every process ready, then a clean stop that leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from eproc_shared.devstack.embedded_broker import free_port, port_open

ROOT = Path(__file__).resolve().parents[1]


def _processes_on(ports: list[int]) -> list[str]:
    """Command lines of any process still started for one of these ports."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if any(f"--port {p}" in line or f":{p} " in line + " " for p in ports)]


@pytest.mark.slow
def test_launcher_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    stack = tomllib.loads((ROOT / "stack.toml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    ports = {"broker": free_port()}
    env["EPROC_BROKER_PORT"] = str(ports["broker"])
    env["NOTIFY_DEV_SMTP_SINK_PORT"] = str(free_port())
    for process in stack["process"]:
        ports[process["name"]] = free_port()
        env[f"{process['env_prefix']}PORT"] = str(ports[process["name"]])
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eproc_shared.devstack.launcher",
            "--stack",
            str(ROOT / "stack.toml"),
            "--var",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        started = time.monotonic()
        while time.monotonic() - started < 60:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if "ready in" in line:
                break
        output = "\n".join(lines)
        assert "ready in" in output, output[-3000:]
        for process in stack["process"]:
            assert f"{process['name']} ready on" in output
        assert any(line.split("|")[0].strip() == "tender" for line in lines), "output is prefixed by process name"
        ready = httpx.get(f"http://127.0.0.1:{ports['gateway']}/health/ready")
        assert ready.status_code == 200, ready.text
        for name in ("tender", "vendor", "contract", "audit", "notify"):
            assert (tmp_path / f"{name}.db").exists(), f"{name} has its own SQLite database under var/"

        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=40)
        assert child.returncode == 0, rest[-2000:]
        assert "stopped" in rest
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not [p for p in ports.values() if port_open("127.0.0.1", p)], "a port is still served after the stop"
    assert _processes_on(list(ports.values())) == []
