"""Serve an ASGI app with uvicorn on the running event loop, beside the microservice."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Iterator
from typing import Any

from nestpy.errors import NestpyError

__all__ = ["HealthPortInUseError", "OpsServer"]

logger = logging.getLogger("nestpy.ops")


class HealthPortInUseError(NestpyError):
    """The health port cannot be bound (another process listens on it)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; raises ``HealthPortInUseError`` if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else "is not allowed"
            msg = (
                f"Health port {port} on {host} {reason}: choose another health_port "
                "(--health-port) or stop the process listening there"
            )
            raise HealthPortInUseError(msg) from None
        raise
    sock.setblocking(False)
    return sock


class OpsServer:
    """uvicorn serving ``app`` on ``host:port`` inside the current event loop.

    ``start()`` binds the port (raising ``HealthPortInUseError`` at once) and returns once
    uvicorn accepts connections; ``stop()`` shuts it down. Signals stay with the
    microservice: uvicorn does not install its own handlers here.
    """

    def __init__(self, app: Any, host: str = "0.0.0.0", port: int = 8080) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind and serve; returns once the server is up."""
        import uvicorn

        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        # log_config=None: uvicorn's records go through the application's logging setup
        # (Nest-like text or --log-format json) instead of handlers of its own.
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="none",
        )
        server = _embedded_server(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                msg = f"The health server on {self.host}:{self.port} stopped at startup"
                raise RuntimeError(msg)
            await asyncio.sleep(0.005)
        logger.info("Health probes on http://%s:%d (/livez, /readyz)", self.host, self.port)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, task = self._server, self._task
        if server is None or task is None:
            return
        self._server = self._task = None
        server.should_exit = True
        await task


def _embedded_server_class() -> type[Any]:
    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # SIGTERM/SIGINT belong to the microservice, which stops this server

    return EmbeddedServer


def _embedded_server(config: Any) -> Any:
    return _embedded_server_class()(config)
