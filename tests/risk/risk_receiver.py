"""A real HTTP receiver for webhook tests: hypercorn serving a tiny ASGI app on a loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


@dataclass
class Received:
    """One request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    at: float  # trio.current_time() when it arrived (virtual under MockClock)


@dataclass
class Receiver:
    """Records requests; ``responses`` scripts the statuses (the last repeats; 'hang' never answers)."""

    responses: list[int | str] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _arrived: trio.Event = field(default_factory=trio.Event)

    async def wait_for(self, count: int) -> None:
        """Wait until ``count`` requests have arrived."""
        while len(self.received) < count:
            await self._arrived.wait()

    def _next_response(self) -> int | str:
        index = min(len(self.received) - 1, len(self.responses) - 1)
        return self.responses[index]

    async def app(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers=headers, body=body, at=trio.current_time()))
        self._arrived.set()
        self._arrived = trio.Event()
        answer = self._next_response()
        if answer == "hang":
            await trio.sleep_forever()
        assert isinstance(answer, int)
        await send({"type": "http.response.start", "status": answer, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def run_receiver(responses: list[int | str] | None = None) -> AsyncIterator[Receiver]:
    """Serve a ``Receiver`` on 127.0.0.1 (random port) for the duration of the block."""
    receiver = Receiver(responses=responses or [200])
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, receiver.app, config)  # type: ignore[arg-type]
        receiver.url = binds[0].replace("0.0.0.0", "127.0.0.1") + "/hook"
        yield receiver
        nursery.cancel_scope.cancel()
