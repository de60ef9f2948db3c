"""`make run`: the embedded broker, every service and the gateway, each its own process.

The processes come from a stack file (stack.toml), so each new service only adds itself
there. Output lines are prefixed with the process name; Ctrl-C or SIGTERM stops everything
and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eproc_shared.broker import ensure_topics, wait_for_broker
from eproc_shared.devstack.embedded_broker import EmbeddedBroker, port_open
from eproc_shared.settings import BrokerSettings

COLOURS = ["36", "32", "33", "35", "34", "31", "96", "92"]


@dataclass
class ProcessSpec:
    name: str
    app: str
    port: int
    env_prefix: str
    database: bool = True
    upstreams_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def read_stack(path: Path) -> tuple[dict[str, object], list[ProcessSpec]]:
    data = tomllib.loads(path.read_text())
    specs = [
        ProcessSpec(
            name=p["name"],
            app=p["app"],
            port=int(os.environ.get(f"{p['env_prefix']}PORT", p["port"])),
            env_prefix=p["env_prefix"],
            database=p.get("database", True),
            upstreams_env=p.get("upstreams_env"),
            env={k: str(v) for k, v in p.get("env", {}).items()},
        )
        for p in data.get("process", [])
    ]
    return data.get("stack", {}), specs


class Launcher:
    def __init__(self, stack: Path, var: Path) -> None:
        self.settings, self.specs = read_stack(stack)
        self.var = var
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.broker: EmbeddedBroker | None = None
        self.stopping = asyncio.Event()
        self.pipes: list[asyncio.Task[None]] = []
        self.width = max([len(s.name) for s in self.specs] + [6])

    def say(self, name: str, line: str, colour: str = "0") -> None:
        tty = sys.stdout.isatty()
        label = f"\033[{colour}m{name:<{self.width}}\033[0m" if tty else f"{name:<{self.width}}"
        sys.stdout.write(f"{label} | {line}\n")
        sys.stdout.flush()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        watchdog = asyncio.create_task(self.stop_when_orphaned())
        started = time.monotonic()
        try:
            bootstrap = await self.start_broker()
            for index, spec in enumerate(self.specs):
                busy = port_open("127.0.0.1", spec.port)
                if busy:
                    raise RuntimeError(
                        f"port {spec.port} for {spec.name} is in use: "
                        f"stop what listens there or set {spec.env_prefix}PORT"
                    )
                await self.start_process(spec, bootstrap, COLOURS[index % len(COLOURS)])
            ready = await self.wait_ready(timeout_s=float(self.settings.get("ready_timeout_s", 30)))
            self.summary(ready, time.monotonic() - started)
            if len(ready) < len(self.specs):
                self.say("stack", "not every process became ready; stopping. Read the lines above for the cause.", "31")
                return 1
            waiters = [asyncio.create_task(child.wait()) for child in self.children.values()]
            stop = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait([stop, *waiters], return_when=asyncio.FIRST_COMPLETED)
            if stop not in done:
                dead = [name for name, child in self.children.items() if child.returncode is not None]
                self.say("stack", f"{', '.join(dead)} exited unexpectedly; stopping everything.", "31")
                return 1
            return 0
        except RuntimeError as exc:
            self.say("stack", f"cannot start: {exc}", "31")
            return 1
        finally:
            watchdog.cancel()
            await self.shutdown()

    async def stop_when_orphaned(self) -> None:
        """If whatever started us (make, a terminal) dies without signalling, stop too."""
        parent = os.getppid()
        while os.getppid() == parent:  # noqa: ASYNC110 - nothing signals a parent's death
            await asyncio.sleep(1)
        self.stopping.set()

    async def start_broker(self) -> str:
        external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if external:
            self.say("broker", f"using Kafka at {external} (KAFKA_BOOTSTRAP_SERVERS)")
            bootstrap = external
        else:
            port = int(os.environ.get("EPROC_BROKER_PORT", self.settings.get("broker_port", 9092)))
            self.broker = EmbeddedBroker(port=port, log_path=self.var / "broker.log")
            await asyncio.to_thread(self.broker.start)
            bootstrap = self.broker.bootstrap_servers
            self.say("broker", f"embedded Tansu broker on {bootstrap} (memory only; log in {self.var / 'broker.log'})")
        settings = self.broker_settings(bootstrap)
        await wait_for_broker(settings)
        created = await ensure_topics(settings)
        self.say("broker", f"topics ready ({len(created)} created)")
        return bootstrap

    def broker_settings(self, bootstrap: str) -> BrokerSettings:
        overrides: dict[str, object] = {"bootstrap_servers": bootstrap}
        if self.broker is not None:
            overrides["enable_idempotence"] = False
        return BrokerSettings(**overrides)  # type: ignore[arg-type]

    async def start_process(self, spec: ProcessSpec, bootstrap: str, colour: str) -> None:
        env = dict(os.environ)
        env.setdefault("EPROC_ENV", "development")
        env.setdefault("LOG_FORMAT", "text")
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        if self.broker is not None:
            env["KAFKA_ENABLE_IDEMPOTENCE"] = "false"
        if spec.database:
            env.setdefault(f"{spec.env_prefix}DATABASE_URL", f"sqlite+aiosqlite:///{self.var / spec.name}.db")
        env[f"{spec.env_prefix}PORT"] = str(spec.port)
        if spec.upstreams_env:
            # The gateway learns where every other process listens from the same stack file.
            upstreams = {s.name: f"http://127.0.0.1:{s.port}" for s in self.specs if s is not spec}
            env[spec.upstreams_env] = json.dumps(upstreams)
        for name, value in spec.env.items():  # stack.toml gives defaults; the caller's environment wins
            env.setdefault(name, value.replace("{var}", str(self.var)))
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            spec.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(spec.port),
            "--no-access-log",
            # Otherwise uvicorn believes X-Forwarded-For from 127.0.0.1 and a local client could spoof
            # its address past the gateway's per-IP limits.
            "--no-proxy-headers",
            "--timeout-graceful-shutdown",
            "10",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self.children[spec.name] = child
        self.pipes.append(asyncio.create_task(self.pipe(spec.name, child, colour)))

    async def pipe(self, name: str, child: asyncio.subprocess.Process, colour: str) -> None:
        assert child.stdout is not None
        async for raw in child.stdout:
            self.say(name, raw.decode(errors="replace").rstrip(), colour)

    async def wait_ready(self, timeout_s: float) -> list[str]:
        ready: list[str] = []
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline and len(ready) < len(self.specs) and not self.stopping.is_set():
                for spec in self.specs:
                    if spec.name in ready:
                        continue
                    if self.children[spec.name].returncode is not None:
                        return ready
                    try:
                        response = await client.get(f"http://127.0.0.1:{spec.port}/health/ready")
                        if response.status_code == 200:
                            ready.append(spec.name)
                            self.say("stack", f"{spec.name} ready on http://127.0.0.1:{spec.port}")
                    except httpx.HTTPError:
                        pass
                await asyncio.sleep(0.2)
        return ready

    def summary(self, ready: list[str], elapsed: float) -> None:
        gateway = next((s for s in self.specs if s.name == "gateway"), None)
        self.say("stack", f"ready in {elapsed:.1f}s: {', '.join(ready) or 'nothing'}")
        if gateway is not None:
            self.say(
                "stack", f"gateway: http://127.0.0.1:{gateway.port}  (API docs: http://127.0.0.1:{gateway.port}/docs)"
            )
        self.say("stack", "Ctrl-C stops everything.")

    async def shutdown(self) -> None:
        for child in self.children.values():
            if child.returncode is None:
                os.killpg(child.pid, signal.SIGTERM)
        for name, child in self.children.items():
            try:
                await asyncio.wait_for(child.wait(), timeout=15)
            except TimeoutError:
                self.say("stack", f"{name} did not stop in 15s; killing it", "31")
                os.killpg(child.pid, signal.SIGKILL)
                await child.wait()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)
        self.say("stack", "stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the whole platform on localhost.")
    parser.add_argument("--stack", type=Path, default=Path("stack.toml"))
    parser.add_argument("--var", type=Path, default=Path(os.environ.get("EPROC_VAR", "var")))
    args = parser.parse_args(argv)
    args.var.mkdir(parents=True, exist_ok=True)
    return asyncio.run(Launcher(args.stack, args.var.resolve()).run())


if __name__ == "__main__":
    raise SystemExit(main())
