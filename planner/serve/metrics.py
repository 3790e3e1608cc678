"""Prometheus metrics of the service (one `CollectorRegistry` per app, so several apps in
one process, as in tests, never collide)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "ServeMetrics"]

_FAST = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "planner_requests",
            "Requests answered, by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "planner_request_seconds",
            "Handling time per request (server side).",
            ["endpoint"],
            buckets=_SLOW,
            registry=r,
        )
        self.plans = Counter(
            "planner_plans",
            "Plans made, by status and whether the slot forced a degraded plan.",
            ["status", "degraded"],
            registry=r,
        )
        self.selection_seconds = Histogram(
            "planner_selection_seconds",
            "Model selection (solver) time per plan.",
            buckets=_FAST,
            registry=r,
        )
        self.plan_energy = Histogram(
            "planner_plan_energy_joules",
            "Predicted model energy of each plan.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000),
            registry=r,
        )
        self.node_seconds = Histogram(
            "planner_node_seconds",
            "Measured inference latency per node, by model.",
            ["model"],
            buckets=_SLOW,
            registry=r,
        )
        self.rejections = Counter(
            "planner_rejections",
            "Requests refused, by reason (budget, overload, queue_full, memory, timeout).",
            ["reason"],
            registry=r,
        )
        self.request_energy = Counter(
            "planner_request_energy_joules",
            "Energy measured for requests (their shares).",
            ["kind"],
            registry=r,
        )
        self.slot_energy = Gauge(
            "planner_slot_energy_joules",
            "Current slot: budget, used, reserved, remaining.",
            ["kind"],
            registry=r,
        )
        self.slot_index = Gauge("planner_slot", "Index of the current slot.", registry=r)
        self.slot_last_plan_energy = Gauge(
            "planner_slot_last_plan_energy_joules",
            "Predicted energy of the latest plan in the current slot (falls as the slot fills).",
            registry=r,
        )
        self.queue_depth = Gauge(
            "planner_queue_depth", "Requests waiting for the next slot.", registry=r
        )
        self.inflight = Gauge("planner_inflight", "Requests admitted now.", registry=r)
        self.resident = Gauge(
            "planner_resident_models", "Models loaded and kept resident.", registry=r
        )
        self.resident_mb = Gauge(
            "planner_resident_memory_mb", "Profile memory of the resident models.", registry=r
        )
        self.model_loads = Gauge(
            "planner_model_loads", "Model loads (cold starts) since start.", registry=r
        )

    def refresh(
        self, budget: dict[str, Any], cache: dict[str, Any], inflight: int, queued: int
    ) -> None:
        """Update the gauges from the tracker's and the cache's views (at scrape time)."""
        for kind in ("budget_j", "used_j", "reserved_j", "remaining_j"):
            value = budget.get(kind)
            self.slot_energy.labels(kind.removesuffix("_j")).set(
                float("inf") if value is None else value
            )
        self.slot_index.set(budget["slot"])
        plans = budget.get("plans") or []
        if plans:
            self.slot_last_plan_energy.set(plans[-1]["energy_j"])
        self.queue_depth.set(queued)
        self.inflight.set(inflight)
        self.resident.set(len(cache["resident"]))
        self.resident_mb.set(cache["resident_mb"])
        self.model_loads.set(cache["loads"])

    def render(self) -> bytes:
        return generate_latest(self.registry)
