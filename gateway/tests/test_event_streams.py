"""Server-sent events through the gateway: each event reaches the client while the service's stream is still
open, nothing is buffered or tagged, a quiet stream outlives the per-call read timeout, and a client that
leaves closes the service's side."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from gw_test_support import Server, free_port, gateway_settings, is_problem, read_credentials

from eproc_gateway.main import create_app
from eproc_shared.testing import serve

STREAM_WAIT_S = 10.0  # bounds every wait below; a buffering gateway would otherwise hang the test


@dataclass
class Ticker:
    """A service whose event stream sends one event, then waits for the test before the second and the end."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    slow_release: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        async def ticks() -> AsyncIterator[bytes]:
            try:
                yield b'retry: 3000\n\nid: 1\nevent: tick\ndata: {"n": 1}\n\n'
                await self.release.wait()
                yield b'id: 2\nevent: tick\ndata: {"n": 2}\n\n'
                self.finished.set()
            finally:
                self.closed.set()  # also when the gateway hangs up and the stream task is cancelled

        @app.get("/public/ticks")
        @app.get("/ticks")
        async def stream() -> StreamingResponse:
            # Deliberately no ETag and no Cache-Control: the gateway must stream it as it is.
            return StreamingResponse(ticks(), media_type="text/event-stream")

        @app.get("/public/slow")
        async def slow() -> dict[str, str]:
            await self.slow_release.wait()
            return {"status": "late"}

        return app


@dataclass
class Edge:
    url: str
    ticker: Ticker
    credentials: dict[str, dict[str, Any]]


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """A real upstream service (uvicorn) and a real gateway (uvicorn) in front of it as `audit`."""
    async with AsyncExitStack() as stack:
        tickers: list[Ticker] = []

        async def make(**overrides: Any) -> Edge:
            ticker = Ticker()
            tickers.append(ticker)
            upstream = await stack.enter_async_context(serve(ticker.app()))
            port = free_port()
            settings = gateway_settings(tmp_path, port, {"audit": upstream}, **overrides)
            gateway = await Server(create_app(settings), port).start()
            stack.push_async_callback(gateway.stop)
            return Edge(gateway.url, ticker, read_credentials(settings))

        try:
            yield make
        finally:
            for ticker in tickers:  # let every upstream stream end so that its server can stop
                ticker.release.set()
                ticker.slow_release.set()


async def next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    event: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "data" in event:
                return event
            event = {}
            continue
        name, _, value = line.partition(":")
        event[name] = value.removeprefix(" ")
    raise AssertionError(f"the stream ended before a complete event: {event!r}")


async def test_each_event_reaches_the_client_while_the_service_stream_is_open(edge: Any) -> None:
    setup = await edge()
    ticker = setup.ticker
    async with httpx.AsyncClient(base_url=setup.url, timeout=STREAM_WAIT_S) as client:
        # If-None-Match: * would have made the gateway buffer, tag and answer 304 before.
        headers = {"Accept": "text/event-stream", "If-None-Match": "*"}
        async with client.stream("GET", "/api/audit/public/ticks", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert "etag" not in response.headers
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            lines = response.aiter_lines()
            first = await asyncio.wait_for(next_event(lines), STREAM_WAIT_S)
            assert (first["id"], first["event"], json.loads(first["data"])) == ("1", "tick", {"n": 1})
            # The service has not written its second event, let alone ended its stream.
            assert not ticker.finished.is_set()
            assert not ticker.closed.is_set()
            ticker.release.set()
            second = await asyncio.wait_for(next_event(lines), STREAM_WAIT_S)
            assert json.loads(second["data"]) == {"n": 2}
            assert [line async for line in lines] == []  # then the stream ends, as the service's did
    assert ticker.finished.is_set()


async def test_a_quiet_stream_outlives_the_read_timeout_that_cuts_an_ordinary_call(edge: Any) -> None:
    setup = await edge(upstream_timeout_s=0.5)
    ticker = setup.ticker
    account = setup.credentials["auditor"]
    async with httpx.AsyncClient(base_url=setup.url, timeout=STREAM_WAIT_S) as client:
        signed_in = await client.post(
            "/auth/token", data={"username": account["username"], "password": account["password"]}
        )
        auditor = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        # A caller that does not say it wants a stream (no Accept) still gets one: the service's type decides.
        async with client.stream("GET", "/api/audit/ticks", headers=auditor) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            assert json.loads((await asyncio.wait_for(next_event(lines), STREAM_WAIT_S))["data"]) == {"n": 1}
            # While the stream is silent, the same read timeout ends an ordinary call to the same service.
            assert is_problem(await client.get("/api/audit/public/slow"), 504)
            ticker.release.set()
            second = await asyncio.wait_for(next_event(lines), STREAM_WAIT_S)
            assert json.loads(second["data"]) == {"n": 2}
    assert ticker.finished.is_set()


async def test_a_client_that_leaves_closes_the_service_stream(edge: Any) -> None:
    setup = await edge()
    ticker = setup.ticker
    async with httpx.AsyncClient(base_url=setup.url, timeout=STREAM_WAIT_S) as client:
        async with client.stream("GET", "/api/audit/public/ticks") as response:
            await asyncio.wait_for(next_event(response.aiter_lines()), STREAM_WAIT_S)
        # Leaving the block closed the client's connection; the gateway hangs up on the service in turn.
        await asyncio.wait_for(ticker.closed.wait(), STREAM_WAIT_S)
    assert not ticker.finished.is_set()


async def test_an_idle_limit_ends_a_silent_stream_cleanly(edge: Any) -> None:
    setup = await edge(stream_idle_timeout_s=0.3)
    ticker = setup.ticker
    async with httpx.AsyncClient(base_url=setup.url, timeout=STREAM_WAIT_S) as client:
        async with client.stream("GET", "/api/audit/public/ticks") as response:
            lines = response.aiter_lines()
            await asyncio.wait_for(next_event(lines), STREAM_WAIT_S)

            async def rest() -> list[str]:
                return [line async for line in lines]

            # The stream ends without an error (an EventSource reconnects with Last-Event-ID)...
            assert await asyncio.wait_for(rest(), STREAM_WAIT_S) == []
    # ...and the service's side is closed too, though it never wrote its second event.
    await asyncio.wait_for(ticker.closed.wait(), STREAM_WAIT_S)
    assert not ticker.finished.is_set()
