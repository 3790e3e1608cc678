"""`Admission`: bounded admission, so overload is answered at once (503/429), never a hang.

At most ``limit`` requests are admitted (solving or running) at a time; the next one gets
`Overloaded` (HTTP 503 with ``Retry-After``). Requests that wait for the next slot (policy
``queue``) are counted apart, at most ``queue_max``; one more gets `QueueFull` (429).
Admitted requests run in worker threads bounded by the same ``limit``, so a flood can never
exhaust the server's threads.
"""

from __future__ import annotations

import threading


class Overloaded(RuntimeError):
    """Every admission slot is taken."""


class QueueFull(RuntimeError):
    """The queue for the next slot is full."""


class Admission:
    def __init__(self, limit: int, queue_max: int) -> None:
        self.limit = limit
        self.queue_max = queue_max
        self._lock = threading.Lock()
        self.inflight = 0
        self.queued = 0

    def enter(self) -> None:
        with self._lock:
            if self.inflight >= self.limit:
                raise Overloaded(f"all {self.limit} admission slots are busy; retry shortly")
            self.inflight += 1

    def leave(self) -> None:
        with self._lock:
            self.inflight = max(0, self.inflight - 1)

    def enqueue(self) -> None:
        with self._lock:
            if self.queued >= self.queue_max:
                raise QueueFull(f"the queue for the next slot is full ({self.queue_max} waiting)")
            self.queued += 1

    def dequeue(self) -> None:
        with self._lock:
            self.queued = max(0, self.queued - 1)
