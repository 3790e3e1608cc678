"""The Energy Budget Tracker: a rolling per-slot energy budget shared by all requests.

Time is cut into slots of ``slot_s`` seconds aligned to the Unix clock, each with the budget
``budget_j``. A background thread reads the project's energy meter (`planner.measure`'s
`EnergyCounter`, i.e. `profiles.energy`: RAPL where readable, else process CPU time x watts)
every ``sample_s`` seconds and at every request start and end:

- the increment goes to the current slot's ``used_j`` (split by time when a sample straddles
  a slot boundary) and is persisted (`SlotStore`), so a restart keeps the slot's energy;
- it is shared equally among the requests in flight (each request's ``measured_j``), as the
  executor's `Accountant` shares a counter among concurrent nodes;
- what is not the share of a run that reserved its plan (idle power on whole-machine meters,
  HTTP handling, plan requests, requests still being solved or refused) is *serving* energy:
  its rate over the last ``window_s`` seconds, ``serving_w``, is forecast for the rest of
  the slot, since serving the requests still to come will spend it whatever is admitted.

A request's *prediction* is its plan's energy plus the learned per-request overhead of its
kind (parsing, selection, execution around the models: an exponentially weighted mean of
measured minus plan energy). While it runs, what it is still predicted to use,
``max(0, predicted - measured so far)``, is *reserved*. What a new request may spend on its
models is

    available = budget - used - reserved(others) - serving_w * time left in the slot
                - margin - overhead(kind)

where ``margin`` is the largest under-prediction (measured minus predicted) among the last
finished requests. The
selector solves under ``available``; `reserve` re-checks it atomically before anything runs
(concurrent requests), and at the end the reservation is dropped: what the request measured
is already in ``used``. Energy spent while the service is down (and its own start-up) is not
counted. The tracker learns overhead and serving power from traffic: after a cold start, or
when the load jumps, the first slot can overrun by the serving energy it had not seen yet.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planner.measure import EnergyCounter
from planner.serve.store import SlotRow, SlotStore

KINDS = ("plan", "run")
#: Weight of the newest observation in the overhead estimates.
EWMA_ALPHA = 0.2
#: Finished requests whose prediction errors set the safety margin.
ERROR_WINDOW = 50
#: Plans of the current slot kept for `/v1/budget` (the newest).
PLANS_SHOWN = 20
#: Request rows are kept this long (slot rows are kept for good), seconds.
KEEP_REQUESTS_S = 86_400.0


@dataclass
class Reservation:
    """One request's entry in the tracker (thread-safe through the tracker's lock)."""

    id: str
    kind: str
    slot_start_unix: float
    opened_unix: float
    predicted_j: float = 0.0
    plan_energy_j: float = 0.0
    measured_j: float = 0.0
    reserved: bool = False
    degraded: bool = False

    @property
    def outstanding_j(self) -> float:
        return max(0.0, self.predicted_j - self.measured_j)


@dataclass
class _PlanMark:
    at_s: float
    energy_j: float
    accuracy: float
    models: list[str] = field(default_factory=list)
    degraded: bool = False


class EnergyBudgetTracker:
    """See the module docstring. ``clock`` is the Unix time (tests may pass their own)."""

    def __init__(
        self,
        store: SlotStore,
        counter: EnergyCounter,
        slot_s: float,
        budget_j: float,
        sample_s: float = 0.1,
        clock: Callable[[], float] = time.time,
        forecast: bool = True,
        window_s: float | None = None,
    ) -> None:
        if not slot_s > 0 or not budget_j > 0 or not sample_s > 0:
            raise ValueError("slot_s, budget_j and sample_s must be positive")
        self.store = store
        self.counter = counter
        self.slot_s = slot_s
        self.budget_j = budget_j
        self.sample_s = sample_s
        self.clock = clock
        self.forecast = forecast
        self.window_s = window_s if window_s is not None else min(10.0, max(1.0, slot_s / 2))
        self._serving: deque[tuple[float, float, float]] = deque()  # (t0, t1, joules)
        self._serving_j = 0.0  # the joules in ``_serving``, kept as it changes (O(1) reads)
        self._lock = threading.RLock()
        # refusals not yet in the slot: counted under a lock of their own, which nothing
        # holds for longer than an addition (the event loop counts them)
        self._rejections = 0
        self._rejections_lock = threading.Lock()
        self._active: dict[str, Reservation] = {}
        self.overhead_j: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self._overhead_seen: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.errors: deque[float] = deque(maxlen=ERROR_WINDOW)
        self._plans: deque[_PlanMark] = deque(maxlen=PLANS_SHOWN)
        self.samples = 0
        now = clock()
        self._last_t = now
        self._last_j = counter.read_j()
        self.slot: SlotRow = store.load_slot(slot_s, self.slot_start(now), budget_j)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ time

    def slot_start(self, t: float) -> float:
        return math.floor(t / self.slot_s) * self.slot_s

    def seconds_to_next_slot(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        return max(0.0, self.slot.start_unix + self.slot_s - now)

    # --------------------------------------------------------------- sampling

    def start(self) -> None:
        """Start the background sampler (idempotent); energy counts from now (what ran
        before, such as the service's start-up, is not a request's)."""
        if self._thread is None:
            with self._lock:
                self._last_j, self._last_t = self.counter.read_j(), self.clock()
            self._thread = threading.Thread(target=self._loop, name="energy-tracker", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.sample_s):
            with contextlib.suppress(Exception):  # a failed read must not kill the sampler
                self.sample()

    def sample(self) -> None:
        with self._lock:
            self._sample_locked()

    def _sample_locked(self) -> None:
        with self._rejections_lock:
            refused, self._rejections = self._rejections, 0
        self.slot.rejected += refused  # before a roll-over: they were refused in this slot
        now = self.clock()
        reading = self.counter.read_j()
        delta = max(0.0, reading - self._last_j)
        dt = max(0.0, now - self._last_t)
        start = self.slot_start(now)
        remainder = delta
        if start != self.slot.start_unix:
            end = self.slot.start_unix + self.slot_s
            share = min(1.0, max(0.0, (end - self._last_t) / dt)) if dt > 0 else 0.0
            self.slot.used_j += delta * share
            if self._active:
                self.slot.attributed_j += delta * share
            self.store.save_slot(self.slot)
            remainder = delta * (1.0 - share)
            self.slot = self.store.load_slot(self.slot_s, start, self.budget_j)
            self._plans.clear()
            self.store.prune_requests(now - KEEP_REQUESTS_S)
        self.slot.used_j += remainder
        serving = delta
        if self._active:
            each = delta / len(self._active)
            for res in self._active.values():
                res.measured_j += each
                if res.reserved and res.kind == "run":
                    serving -= each
            self.slot.attributed_j += remainder
        if dt > 0:
            self._serving.append((self._last_t, now, max(0.0, serving)))
            self._serving_j += max(0.0, serving)
        while self._serving and self._serving[0][1] < now - self.window_s:
            self._serving_j -= self._serving.popleft()[2]
        if not self._serving:
            self._serving_j = 0.0  # no round-off carried over
        self._last_j, self._last_t = reading, now
        self.samples += 1
        if delta > 0 or remainder != delta or refused:
            self.store.save_slot(self.slot)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            self._sample_locked()
            self.store.save_slot(self.slot)

    # ------------------------------------------------------------- requests

    def open(self, kind: str) -> Reservation:
        """A request starts: it is measured from now and its overhead is reserved."""
        if kind not in KINDS:
            raise ValueError(f"unknown request kind {kind!r}")
        with self._lock:
            self._sample_locked()
            now = self.clock()
            res = Reservation(
                id=uuid.uuid4().hex[:12],
                kind=kind,
                slot_start_unix=self.slot.start_unix,
                opened_unix=now,
                predicted_j=self.overhead_j[kind],
            )
            self._active[res.id] = res
            self.slot.requests += 1
            self.store.begin_request(res.id, kind, self.slot_s, self.slot.start_unix, now)
            return res

    def _left_locked(self, res: Reservation | None) -> float:
        """Budget minus used, others' reservations, the background forecast and the margin."""
        others = sum(r.outstanding_j for r in self._active.values() if r is not res)
        forecast = self.forecast_j()
        return self.budget_j - self.slot.used_j - others - forecast - self.margin_j()

    def available_j(self, res: Reservation) -> float:
        """What ``res``'s models may use now (see the module docstring); may be <= 0."""
        with self._lock:
            self._sample_locked()
            own = max(0.0, self.overhead_j[res.kind] - res.measured_j)
            return self._left_locked(res) - own

    def reserve(self, res: Reservation, plan_energy_j: float, force: bool = False) -> bool:
        """Reserve ``plan_energy_j`` (the plan's predicted energy) plus the overhead for
        ``res`` if it still fits (or ``force``, the degrade policy); False when it does not."""
        with self._lock:
            self._sample_locked()
            predicted = self.overhead_j[res.kind] + plan_energy_j
            fits = predicted - res.measured_j <= self._left_locked(res) + 1e-12
            if not (fits or force):
                return False
            res.predicted_j = predicted
            res.plan_energy_j = plan_energy_j
            res.reserved = True
            res.degraded = not fits
            if res.degraded:
                self.slot.degraded += 1
            return True

    def close_request(
        self,
        res: Reservation,
        outcome: str,
        accuracy: float | None = None,
        models: list[str] | None = None,
        learn: bool = True,
    ) -> float:
        """The request ended: drop its reservation, learn from its error; its measured share."""
        with self._lock:
            self._sample_locked()
            self._active.pop(res.id, None)
            measured = res.measured_j
            if learn:
                # the energy around the models; a model that used less than its profile
                # says is the profile's error (`planner profiles update`), not negative overhead
                observed = max(0.0, measured - res.plan_energy_j)
                seen = self._overhead_seen[res.kind]
                old = self.overhead_j[res.kind]
                self.overhead_j[res.kind] = (
                    observed if seen == 0 else old + EWMA_ALPHA * (observed - old)
                )
                self._overhead_seen[res.kind] = seen + 1
                self.errors.append(max(0.0, measured - res.predicted_j))  # under-predictions
            self.store.finish_request(
                res.id,
                res.predicted_j,
                measured,
                res.plan_energy_j if res.reserved else None,
                accuracy,
                models or [],
                outcome,
                self.clock(),
            )
            return measured

    def count_rejection(self) -> None:
        """One more request refused in this slot. The event loop calls it for every 429, so
        it neither waits for the tracker's lock (a request's thread may hold it across a
        SQLite write) nor writes: the next sample, at most ``sample_s`` later, saves it."""
        with self._rejections_lock:
            self._rejections += 1

    def record_plan(
        self, energy_j: float, accuracy: float, models: list[str], degraded: bool = False
    ) -> None:
        """A plan chosen in this slot (shown by `/v1/budget`: cheaper as the slot fills)."""
        with self._lock:
            at = self.clock() - self.slot.start_unix
            self._plans.append(_PlanMark(at, energy_j, accuracy, models, degraded))

    @property
    def serving_w(self) -> float:
        """Serving power over the last ``window_s`` seconds (W; 0 before any sample)."""
        if not self._serving:
            return 0.0
        span = self._serving[-1][1] - self._serving[0][0]
        if span <= 0:
            return 0.0
        return max(0.0, self._serving_j) / max(span, min(self.window_s, 1.0))

    def forecast_j(self) -> float:
        """Serving energy expected in the rest of the slot (0 unless ``forecast``)."""
        return self.serving_w * self.seconds_to_next_slot() if self.forecast else 0.0

    def margin_j(self) -> float:
        return max(self.errors, default=0.0)

    # ----------------------------------------------------------------- views

    def snapshot(self) -> dict[str, Any]:
        """The `/v1/budget` view of the current slot."""
        with self._lock:
            self._sample_locked()
            now = self.clock()
            reserved = sum(r.outstanding_j for r in self._active.values())
            remaining = self.budget_j - self.slot.used_j - reserved
            describe = getattr(self.counter, "note", "") or ""
            return {
                "slot": int(self.slot.start_unix // self.slot_s),
                "slot_s": self.slot_s,
                "slot_start_unix": self.slot.start_unix,
                "seconds_to_next_slot": self.seconds_to_next_slot(now),
                "budget_j": _json_number(self.budget_j),
                "used_j": self.slot.used_j,
                "reserved_j": reserved,
                "remaining_j": _json_number(remaining),
                "in_flight": len(self._active),
                "requests": self.slot.requests,
                "rejected": self.slot.rejected,
                "degraded": self.slot.degraded,
                "serving_w": self.serving_w,
                "forecast_j": self.forecast_j(),
                "margin_j": self.margin_j(),
                "overhead_j": dict(self.overhead_j),
                "plans": [
                    {
                        "at_s": round(p.at_s, 4),
                        "energy_j": p.energy_j,
                        "accuracy": p.accuracy,
                        "models": p.models,
                        "degraded": p.degraded,
                    }
                    for p in self._plans
                ],
                "meter": {"source": getattr(self.counter, "source", "unknown"), "note": describe},
            }

    def history(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest slots (newest first), with their final energy against the budget."""
        with self._lock:
            self._sample_locked()
        out = []
        for row in self.store.recent_slots(self.slot_s, limit):
            item = row.as_dict()
            item["budget_j"] = _json_number(item["budget_j"])
            out.append(item)
        return out


def _json_number(value: float) -> float | None:
    """JSON has no infinity: an unlimited budget is null."""
    return value if math.isfinite(value) else None
