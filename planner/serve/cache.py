"""`ModelCache`: models stay loaded between requests, within a memory budget (LRU eviction).

Every model is loaded (and, for zoo models, warmed up like the profiler does) once, then kept.
A request *leases* the models its plan chose (and any a re-plan switches to); leased models
are never evicted. When a model does not fit the memory budget, the least recently used
models that no request holds are evicted until it fits; when even that is not enough,
`CacheFull` is raised (the service answers 503, never waits). Memory is the profiles'
``memory_mb`` (what the planner budgets), not a measurement.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from planner.runners import Runner, RunnerError, RunnerFactory, warm_up
from profiles import ModelProfile


class CacheFull(RuntimeError):
    """The models a request needs do not fit next to those other requests hold."""


@dataclass
class _Entry:
    runner: Runner
    memory_mb: float
    holders: int = 0


@dataclass
class Lease:
    """The models one request holds (released with `ModelCache.release`)."""

    models: set[str] = field(default_factory=set)
    cold: set[str] = field(default_factory=set)


class ModelCache:
    """Resident runners by model id (thread-safe)."""

    def __init__(
        self,
        memory_mb: float | None = None,
        factory: RunnerFactory | None = None,
        warmup: int = 3,
    ) -> None:
        self.memory_mb = memory_mb
        self.factory = factory or RunnerFactory()
        self.warmup = warmup
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        # the resident ids, replaced (under the lock) whenever a model is loaded or evicted:
        # read without the lock by `/healthz`, which must never wait for a request's thread
        self.resident_ids: tuple[str, ...] = ()
        self.loads = 0
        self.hits = 0
        self.evictions = 0

    # ------------------------------------------------------------------ views

    def resident(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def resident_mb(self) -> float:
        with self._lock:
            return sum(e.memory_mb for e in self._entries.values())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "resident": sorted(self._entries),
                "resident_mb": sum(e.memory_mb for e in self._entries.values()),
                "memory_budget_mb": self.memory_mb,
                "loads": self.loads,
                "hits": self.hits,
                "evictions": self.evictions,
            }

    # ---------------------------------------------------------------- leasing

    def lease(self, profiles: Iterable[ModelProfile], lease: Lease | None = None) -> Lease:
        """Hold (loading if needed) every model of ``profiles``; raises `CacheFull` or
        `RunnerError` (then nothing new stays held)."""
        lease = lease or Lease()
        added: list[str] = []
        try:
            for profile in sorted({p.id: p for p in profiles}.values(), key=lambda p: p.id):
                if profile.id in lease.models:
                    continue
                self._hold(profile, lease)
                added.append(profile.id)
        except BaseException:
            self._drop(added)
            lease.models -= set(added)
            raise
        return lease

    def runner(self, profile: ModelProfile, lease: Lease) -> Runner:
        """The loaded runner of ``profile``, held by ``lease``."""
        if profile.id not in lease.models:
            self._hold(profile, lease)
        with self._lock:
            entry = self._entries[profile.id]
            self._entries.move_to_end(profile.id)
            return entry.runner

    def release(self, lease: Lease) -> None:
        self._drop(list(lease.models))
        lease.models.clear()

    def _drop(self, models: list[str]) -> None:
        with self._lock:
            for model in models:
                entry = self._entries.get(model)
                if entry is not None and entry.holders > 0:
                    entry.holders -= 1

    def _hold(self, profile: ModelProfile, lease: Lease) -> None:
        with self._lock:
            entry = self._entries.get(profile.id)
            if entry is not None:
                entry.holders += 1
                self._entries.move_to_end(profile.id)
                self.hits += 1
                lease.models.add(profile.id)
                return
            gate = self._loading.setdefault(profile.id, threading.Lock())
        with gate:  # one load per model even when requests race for it
            with self._lock:
                entry = self._entries.get(profile.id)
                if entry is not None:
                    entry.holders += 1
                    self._entries.move_to_end(profile.id)
                    self.hits += 1
                    lease.models.add(profile.id)
                    return
                self._make_room(profile)
            runner = self._load(profile)
            with self._lock:
                self._make_room(profile)
                self._entries[profile.id] = _Entry(runner, profile.memory_mb, holders=1)
                self.resident_ids = tuple(sorted(self._entries))
                self.loads += 1
                lease.models.add(profile.id)
                lease.cold.add(profile.id)

    def _make_room(self, profile: ModelProfile) -> None:
        """Evict unheld models (least recently used first) until ``profile`` fits."""
        if self.memory_mb is None:
            return
        if profile.memory_mb > self.memory_mb:
            raise CacheFull(
                f"model {profile.id!r} needs {profile.memory_mb:g} MB, more than the whole "
                f"model memory budget ({self.memory_mb:g} MB); raise --memory-mb"
            )
        used = sum(e.memory_mb for e in self._entries.values())
        for model in list(self._entries):
            if used + profile.memory_mb <= self.memory_mb:
                return
            entry = self._entries[model]
            if entry.holders == 0:
                del self._entries[model]
                self.resident_ids = tuple(sorted(self._entries))
                self.factory.release({model})
                used -= entry.memory_mb
                self.evictions += 1
        if used + profile.memory_mb > self.memory_mb:
            raise CacheFull(
                f"model {profile.id!r} ({profile.memory_mb:g} MB) does not fit: "
                f"{used:g} of {self.memory_mb:g} MB are held by requests in flight; retry"
            )

    def _load(self, profile: ModelProfile) -> Runner:
        runner = self.factory.load(profile)
        try:
            warm_up(runner, profile.task, self.warmup)
        except Exception as exc:
            self.factory.release({profile.id})
            raise RunnerError(
                f"model {profile.id!r} ({profile.task}) failed its warm-up inference: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return runner
