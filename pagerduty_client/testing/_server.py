"""Loopback HTTP/1.1 front end of the fake PagerDuty: a real server on 127.0.0.1, plain or TLS.

`LoopbackServer` runs on an asyncio loop (the caller's, via `FakePagerDuty.serve()`, or its own
thread's, via `ThreadedServer` / `FakePagerDuty.start()`); HTTP parsing is h11 (already installed
with httpx). Keep-alive is supported, so a client reuses its connections. A `disconnect` answer
aborts the connection without a response; a delay is slept before answering. Stopping closes
the listening socket, cancels every connection and, for the thread, joins it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import ssl
import threading
from urllib.parse import parse_qsl

import h11

from pagerduty_client.testing._app import FakeApp, FakeRequest

__all__ = ["LoopbackServer", "ThreadedServer"]

log = logging.getLogger("pagerduty_client.testing")

_READ_SIZE = 65536
_MAX_BODY = 4 * 1024 * 1024


class LoopbackServer:
    def __init__(self, app: FakeApp) -> None:
        self._app = app
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.url: str | None = None

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> str:
        if self._server is not None:
            raise RuntimeError("the fake PagerDuty server is already running")
        self._server = await asyncio.start_server(
            self._serve_connection,
            host,
            port,
            ssl=tls,
            ssl_shutdown_timeout=1.0 if tls is not None else None,
        )
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        if ":" in bound_host:
            bound_host = f"[{bound_host}]"
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://{bound_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()
        self.url = None

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        connection = h11.Connection(h11.SERVER)
        try:
            while await self._serve_one(connection, reader, writer):
                connection.start_next_cycle()
        except (
            ConnectionError,
            h11.ProtocolError,
            asyncio.IncompleteReadError,
            ssl.SSLError,
        ) as exc:
            log.debug("fake PagerDuty: connection ended: %r", exc)
        except asyncio.CancelledError:
            # Only stop() cancels these tasks. Ending quietly matters: on Python 3.11 the
            # streams machinery calls task.exception() on a cancelled handler and logs an error.
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            # A TLS client that leaves without closing its side makes the shutdown time out.
            with contextlib.suppress(
                ConnectionError, asyncio.CancelledError, RuntimeError, TimeoutError, ssl.SSLError
            ):
                await writer.wait_closed()

    async def _next_event(
        self, connection: h11.Connection, reader: asyncio.StreamReader
    ) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        while True:
            event = connection.next_event()
            if event is not h11.NEED_DATA:
                return event
            connection.receive_data(await reader.read(_READ_SIZE))

    async def _serve_one(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; True if the connection stays open for another."""
        event = await self._next_event(connection, reader)
        if not isinstance(event, h11.Request):
            return False
        body = bytearray()
        while True:
            part = await self._next_event(connection, reader)
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > _MAX_BODY:
                    return False
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                return False
        path, _, query = event.target.partition(b"?")
        request = FakeRequest(
            method=event.method.decode("ascii"),
            path=path.decode("ascii"),
            query=tuple(parse_qsl(query.decode("ascii"), keep_blank_values=True)),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers},
            body=bytes(body),
        )
        response = self._app.handle(request)
        if response.delay:
            await asyncio.sleep(response.delay)
        if response.disconnect:
            writer.transport.abort()
            return False
        headers = [(k.encode(), v.encode()) for k, v in response.headers]
        if response.status != 204:
            headers.append((b"content-length", str(len(response.body)).encode()))
        reason = http.HTTPStatus(response.status).phrase.encode()
        data = connection.send(
            h11.Response(status_code=response.status, headers=headers, reason=reason)
        )
        if response.body:
            data = (data or b"") + (connection.send(h11.Data(data=response.body)) or b"")
        data = (data or b"") + (connection.send(h11.EndOfMessage()) or b"")
        writer.write(data)
        await writer.drain()
        return connection.our_state is h11.DONE and connection.their_state is h11.DONE


class ThreadedServer:
    """A `LoopbackServer` on its own event loop in a daemon thread, for synchronous code."""

    def __init__(self, app: FakeApp) -> None:
        self._app = app
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.url: str | None = None

    def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> str:
        if self._thread is not None:
            raise RuntimeError("the fake PagerDuty server thread is already running")
        loop = asyncio.new_event_loop()
        server = LoopbackServer(self._app)
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.start(host, port, tls))
            except BaseException as exc:  # reported to start()'s caller below
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(server.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name="fake-pagerduty-server", daemon=True)
        thread.start()
        if not started.wait(timeout):
            raise RuntimeError("the fake PagerDuty server did not start in time")
        if failure:
            thread.join()
            raise failure[0]
        self._thread, self._loop, self.url = thread, loop, server.url
        assert self.url is not None
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("the fake PagerDuty server thread did not stop in time")
        self._thread = self._loop = None
        self.url = None
