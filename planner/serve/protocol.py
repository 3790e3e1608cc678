"""Connection deadlines for `planner serve` (uvicorn's h11 protocol, guarded).

uvicorn bounds idle keep-alive connections but not a client that connects and never
finishes its request headers, nor one that stops reading its response: each holds a
connection (and, for the second, the task answering it) for ever, and enough of them make
uvicorn answer everyone 503 (``limit_concurrency``). `guarded_protocol` closes:

- a connection whose request line and headers are not complete ``header_timeout_s`` after
  it opened or after its previous response (slowloris);
- a connection whose response has waited ``write_timeout_s`` for the client to read it (the
  transport's write buffer stays above its high-water mark), which also ends the task
  blocked on it; the kernel's send buffer is capped at `SEND_BUFFER_BYTES`, so that point
  comes after a few answers, not thousands.

The body's own deadline is `planner.serve.app.BodyLimit`'s. Worker slots are never held by
any of these: a request is admitted only once its body is read, and releases its slot
before its response is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

HEADER_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 10.0
#: Kernel send buffer per connection (Linux otherwise grows it to megabytes on loopback, so
#: a client pipelining requests it never reads makes the server answer thousands of them).
SEND_BUFFER_BYTES = 256 * 1024


def guarded_protocol(
    header_timeout_s: float = HEADER_TIMEOUT_S, write_timeout_s: float = WRITE_TIMEOUT_S
) -> type[asyncio.Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` with the two deadlines."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _write_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            if sock is not None:  # a bounded kernel buffer: a client that stops reading
                with contextlib.suppress(OSError):  # is noticed after this much, not MBs
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            self._arm_header()

        def connection_lost(self, exc: Exception | None) -> None:
            for timer in (self._header_timer, self._write_timer):
                if timer is not None:
                    timer.cancel()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_header()  # the next request's headers have the same deadline

        def _arm_header(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(header_timeout_s, self._header_late)

        def _header_late(self) -> None:
            self._header_timer = None
            waiting = self.conn.their_state is h11.IDLE and (
                self.cycle is None or self.cycle.response_complete
            )
            if waiting and not self.transport.is_closing():
                self.transport.close()

        def pause_writing(self) -> None:
            super().pause_writing()
            if self._write_timer is None:
                self._write_timer = self.loop.call_later(write_timeout_s, self._write_late)

        def resume_writing(self) -> None:
            super().resume_writing()
            if self._write_timer is not None:
                self._write_timer.cancel()
                self._write_timer = None

        def _write_late(self) -> None:
            self._write_timer = None
            if not self.transport.is_closing():
                self.transport.abort()  # the client stopped reading: drop it

    return GuardedH11Protocol


__all__ = ["HEADER_TIMEOUT_S", "WRITE_TIMEOUT_S", "guarded_protocol"]
