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

With `EarlyAnswers`, the protocol also answers two kinds of request itself, from the bytes
of one ``data_received``, before h11 parses them, before uvicorn's ``limit_concurrency``
and without an ASGI task: ``GET /healthz``, and a ``POST`` to an admitted path while every
admission slot is busy (503). Under a flood of clients that resend at once, the event loop
spends its time on those requests; each one costs it microseconds here instead of the
milliseconds of h11, a task, the middleware and a response serialised by h11, so a health
probe waits behind far less work. Only a request that `early_request` reads unambiguously
(one HTTP/1.1 request, exactly the bytes received, one ``Content-Length`` or none, no
``Transfer-Encoding``, ``Expect`` or ``Upgrade``) is answered early; anything else takes the
ordinary path, which applies the same rules (`planner.serve.app.BodyLimit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HEADER_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 10.0
#: Kernel send buffer per connection (Linux otherwise grows it to megabytes on loopback, so
#: a client pipelining requests it never reads makes the server answer thousands of them).
SEND_BUFFER_BYTES = 256 * 1024


#: Longest request head (request line and headers) `early_request` reads; longer ones take
#: the ordinary path.
EARLY_HEAD_BYTES = 8192
_NOT_TOKEN = frozenset(b' \t\r\n"(),/:;<=>?@[\\]{}')


@dataclass(frozen=True)
class EarlyRequest:
    """One complete request read by `early_request`."""

    method: str
    path: str
    body_bytes: int
    close: bool  # the client asked for ``Connection: close``


def early_request(data: bytes) -> EarlyRequest | None:
    """The request in ``data`` when ``data`` is exactly one complete, unambiguous HTTP/1.1
    request with a ``Host`` header: its framing is then the one h11 would read. None for
    anything else (a partial or pipelined request, chunked bodies, ``Expect``, ``Upgrade``,
    obsolete line folding, repeated ``Content-Length``, ...), left to the ordinary path."""
    end = data.find(b"\r\n\r\n", 0, EARLY_HEAD_BYTES)
    if end < 0:
        return None
    line, _, fields = data[:end].partition(b"\r\n")
    parts = line.split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or not parts[1].startswith(b"/"):
        return None
    method, target = parts[0], parts[1]
    if not method.isalpha() or not method.isupper() or b"?" in target or b"%" in target:
        return None
    length: int | None = None
    close = host = False
    for field in fields.split(b"\r\n") if fields else ():
        name, sep, value = field.partition(b":")
        if not sep or not name or any(c in _NOT_TOKEN or c < 33 or c > 126 for c in name):
            return None  # no colon, obsolete folding, whitespace before the colon: h11's call
        value = value.strip(b" \t")
        key = name.lower()
        if key == b"content-length":
            if length is not None or not value.isdigit() or len(value) > 18:
                return None
            length = int(value)
        elif key == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"upgrade" in tokens:
                return None
            close = b"close" in tokens
        elif key in (b"transfer-encoding", b"expect", b"upgrade"):
            return None
        elif key == b"host":
            if host:
                return None
            host = True
    body = length or 0
    if not host or len(data) != end + 4 + body:
        return None
    return EarlyRequest(method.decode("ascii"), target.decode("ascii"), body, close)


@dataclass(frozen=True)
class EarlyAnswers:
    """What the protocol answers itself (see the module's docstring): ``health()`` is the
    body of ``GET /healthz``; ``shed(path)`` is why a ``POST`` to ``path`` is refused now
    (503), or None to let it through; bodies over ``max_body_bytes`` are left to the
    ordinary path (413)."""

    health: Callable[[], dict[str, Any]]
    shed: Callable[[str], str | None]
    max_body_bytes: int
    health_path: str = "/healthz"

    def answer(self, data: bytes) -> tuple[bytes, bool] | None:
        """(the whole response, close after it) for ``data``, or None: the ordinary path."""
        request = early_request(data)
        if request is None:
            return None
        if request.path == self.health_path:
            if request.method != "GET" or request.body_bytes:
                return None
            return response(200, self.health(), close=request.close), request.close
        if request.method != "POST" or request.body_bytes > self.max_body_bytes:
            return None
        why = self.shed(request.path)
        if why is None:
            return None
        body = {"error": why, "retry_after_s": 1.0}
        return response(503, body, retry_after=1, close=request.close), request.close


_REASONS = {200: b"OK", 503: b"Service Unavailable"}


def response(status: int, body: dict[str, Any], retry_after: int = 0, close: bool = False) -> bytes:
    """A complete HTTP/1.1 response with a JSON body."""
    payload = json.dumps(body).encode("utf-8")
    head = [
        b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"")),
        b"content-type: application/json",
        b"content-length: %d" % len(payload),
    ]
    if retry_after:
        head.append(b"retry-after: %d" % retry_after)
    if close:
        head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


def guarded_protocol(
    header_timeout_s: float = HEADER_TIMEOUT_S,
    write_timeout_s: float = WRITE_TIMEOUT_S,
    early: EarlyAnswers | None = None,
) -> type[asyncio.Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` with the two deadlines, and
    the ``early`` answers when given."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _write_timer: asyncio.TimerHandle | None = None

        def data_received(self, data: bytes) -> None:
            if early is not None and self._idle():
                answer = early.answer(data)
                if answer is not None:
                    self._answer_early(*answer)
                    return
            super().data_received(data)

        def _idle(self) -> bool:
            """Between requests, with nothing buffered and the client reading."""
            return (
                (self.cycle is None or self.cycle.response_complete)
                and self.conn.their_state is h11.IDLE
                and self.conn.our_state is h11.IDLE
                and not self.conn.trailing_data[0]
                and not self.flow.write_paused
                and not self.transport.is_closing()
            )

        def _answer_early(self, payload: bytes, close: bool) -> None:
            self._unset_keepalive_if_required()
            self.transport.write(payload)
            self.server_state.total_requests += 1
            if close:
                self.transport.close()
                return
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
            self._arm_header()

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


__all__ = [
    "HEADER_TIMEOUT_S",
    "WRITE_TIMEOUT_S",
    "EarlyAnswers",
    "EarlyRequest",
    "early_request",
    "guarded_protocol",
    "response",
]
