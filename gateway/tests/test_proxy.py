"""Routing: headers and trace context across the hop, failing and slow services, the merged API document,
and a 100 MB upload (and download) streamed with bounded memory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from gw_test_support import SERVICES, Clock, Server, free_port, is_problem, read_credentials
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from eproc_gateway.settings import GatewaySettings

TESTS = Path(__file__).parent


async def test_request_id_and_trace_id_arrive_at_the_service(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    # This process's httpx is instrumented too and would replace our traceparent: use a plain client.
    client = httpx.AsyncClient(base_url=stack.url)
    HTTPXClientInstrumentor.uninstrument_client(client)
    async with client:
        response = await client.get(
            "/api/tender/echo",
            params={"q": "jalan raya", "page": "2"},
            headers={
                **await stack.as_role("ppk"),
                "X-Request-ID": "req-12345",
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
                "Connection": "keep-alive, X-Private-Hop",
                "X-Private-Hop": "must not pass",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic secret",
            },
        )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "req-12345"
    seen = response.json()
    assert seen["request_id"] == "req-12345"
    assert seen["headers"]["x-request-id"] == "req-12345"
    assert seen["trace_id"] == trace_id  # one trace: caller -> gateway -> service
    assert seen["headers"]["traceparent"].split("-")[1] == trace_id
    assert seen["query"] == "q=jalan+raya&page=2"
    for dropped in ("x-private-hop", "keep-alive", "proxy-authorization"):
        assert dropped not in seen["headers"]
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert seen["headers"]["x-forwarded-proto"] == "http"
    assert seen["principal"]["roles"] == ["ppk"]
    # Without a caller's trace, the gateway starts one and passes it on.
    fresh = (await stack.client.get("/api/tender/public/echo")).json()
    assert len(fresh["trace_id"]) == 32
    assert fresh["trace_id"] != "0" * 32
    assert fresh["request_id"]


async def test_a_killed_service_fails_fast_others_still_served_and_the_circuit_opens(
    make_stack: Any, clock: Clock
) -> None:
    stack = await make_stack(services=("tender", "vendor"), breaker_failure_threshold=2, breaker_open_s=10)
    client, ppk = stack.client, await stack.as_role("ppk")
    await stack.upstreams["tender"].stop()

    started = time.perf_counter()
    down = await client.get("/api/tender/packages", headers=ppk)
    assert time.perf_counter() - started < 1.5
    assert is_problem(down, 503)
    assert down.headers["retry-after"]
    assert (await client.get("/api/vendor/vendors", headers=ppk)).status_code == 200

    assert is_problem(await client.get("/api/tender/packages", headers=ppk), 503)  # second failure: circuit opens
    ready = (await client.get("/health/ready")).json()
    assert ready["status"] == "degraded"
    assert ready["checks"]["tender"] is False
    assert ready["checks"]["vendor"] is True
    assert ready["upstreams"]["tender"]["circuit"] == "open"

    # While open, the gateway does not even try, even once the service is back.
    stack.upstreams["tender"] = await Server(stack.upstreams["tender"].app, stack.upstream_port["tender"]).start()
    try:
        blocked = await client.get("/api/tender/packages", headers=ppk)
        assert is_problem(blocked, 503)
        assert "failed repeatedly" in blocked.json()["detail"]
        clock.advance(10)  # half-open: one trial call goes through and closes the circuit
        assert (await client.get("/api/tender/packages", headers=ppk)).status_code == 200
        ready = (await client.get("/health/ready")).json()
        assert ready["upstreams"]["tender"]["circuit"] == "closed"
        assert ready["status"] == "ok"
    finally:
        await stack.upstreams["tender"].stop()


async def test_a_slow_service_times_out_with_504(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",), upstream_timeouts={"/api/tender/slow": 0.5})
    ppk = await stack.as_role("ppk")
    started = time.perf_counter()
    slow = await stack.client.get("/api/tender/slow", headers=ppk)
    assert time.perf_counter() - started < 2
    assert is_problem(slow, 504)
    assert (await stack.client.get("/api/tender/packages", headers=ppk)).status_code == 200


async def test_merged_openapi_lists_every_service_through_the_gateway(make_stack: Any) -> None:
    stack = await make_stack()
    document = (await stack.client.get("/openapi.json")).json()
    paths = document["paths"]
    for service in SERVICES:
        for path in ("/echo", "/whoami", "/packages/{opd_id}", "/upload", "/public/announcements"):
            assert f"/api/{service}{path}" in paths, f"/api/{service}{path} missing"
        assert paths[f"/api/{service}/echo"]["get"]["tags"] == [service]
    for own in ("/auth/token", "/auth/register/vendor", "/.well-known/jwks.json", "/admin/users", "/health/ready"):
        assert own in paths
    assert "/echo" not in paths  # never the service's own, un-prefixed path
    schemas = document["components"]["schemas"]
    refs = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    refs.add(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert "#/components/schemas/tender.HTTPValidationError" in refs
    missing = [r for r in refs if r.split("/")[-1] not in schemas]
    assert not missing
    assert "password" in json.dumps(document["components"]["securitySchemes"])
    docs = await stack.client.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text

    await stack.upstreams["notify"].stop()
    partial = await make_stack_document(stack)
    assert partial["info"]["x-unavailable-services"] == ["notify"]
    assert "/api/notify/echo" not in partial["paths"]
    assert "/api/tender/echo" in partial["paths"]


async def make_stack_document(stack: Any) -> dict[str, Any]:
    stack.clock.advance(stack.settings.openapi_cache_s + 1)
    return (await stack.client.get("/openapi.json")).json()  # type: ignore[no-any-return]


# 100 MB through the gateway, measured in a separate gateway process -------------------------------


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current RSS (Linux: clear_refs 5), so start-up peaks do not count."""
    # If this fails, VmHWM includes start-up, which only makes the assertion stricter.
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


async def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError(f"{url} exited with {process.returncode}")
            try:
                if (await client.get(f"{url}/health/live")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not start")


def _spawn(app: str, port: int, env: dict[str, str], app_dir: Path | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port), "--log-level", "warning"]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_100_mb_upload_and_download_stream_with_bounded_memory(tmp_path: Path) -> None:
    gateway_port, upstream_port = free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    common = {
        "AUTH_ISSUER": gateway_url,
        "AUTH_JWKS_URL": f"{gateway_url}/.well-known/jwks.json",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "LOG_LEVEL": "WARNING",
    }
    upstream = _spawn("gw_test_upstream:create_app", upstream_port, {**common, "TEST_UPSTREAM_NAME": "tender"}, TESTS)
    gateway = _spawn(
        "eproc_gateway.main:create_app",
        gateway_port,
        {
            **common,
            "EPROC_ENV": "test",
            "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            "GATEWAY_UPSTREAMS": json.dumps({"tender": f"http://127.0.0.1:{upstream_port}"}),
            "GATEWAY_DEV_SEED": "true",
            "GATEWAY_DEV_CREDENTIALS_FILE": str(tmp_path / "creds.json"),
            "GATEWAY_PASSWORD_HASH_MEMORY_KIB": "1024",
            "GATEWAY_PASSWORD_HASH_TIME_COST": "1",
            "GATEWAY_PORT": str(gateway_port),
        },
    )
    try:
        await _wait_ready(f"http://127.0.0.1:{upstream_port}", upstream)
        await _wait_ready(gateway_url, gateway)
        settings = GatewaySettings(dev_credentials_file=str(tmp_path / "creds.json"), environment="test")
        vendor = read_credentials(settings)["vendor"]
        async with httpx.AsyncClient(base_url=gateway_url, timeout=120) as client:
            token = (
                await client.post("/auth/token", data={"username": vendor["username"], "password": vendor["password"]})
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert (await client.get("/api/tender/packages", headers=auth)).status_code == 200  # warm up
            _reset_peak(gateway.pid)
            baseline = _rss_kib(gateway.pid, "VmRSS")

            size, chunk = 100 * 1_048_576, os.urandom(1_048_576)
            expected = hashlib.sha256()
            for _ in range(100):
                expected.update(chunk)

            async def body() -> AsyncIterator[bytes]:
                for _ in range(100):
                    yield chunk

            started = time.perf_counter()
            uploaded = await client.post(
                "/api/tender/upload",
                content=body(),
                headers={**auth, "Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
            upload_s = time.perf_counter() - started
            assert uploaded.status_code == 200, uploaded.text
            assert uploaded.json() == {"size": size, "sha256": expected.hexdigest()}

            received = 0
            async with client.stream("GET", "/api/tender/download/100", headers=auth) as download:
                assert download.status_code == 200
                async for piece in download.aiter_raw():
                    received += len(piece)
            assert received == size
            peak = _rss_kib(gateway.pid, "VmHWM")
        growth_mb = (peak - baseline) / 1024
        assert growth_mb < 40, f"gateway memory grew {growth_mb:.0f} MB while streaming 100 MB (upload {upload_s:.1f}s)"
    finally:
        for process in (gateway, upstream):
            process.terminate()
        for process in (gateway, upstream):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
