"""`SlotStore`: the Energy Budget Tracker's state in SQLite, so a restart (even ``kill -9``)
keeps each slot's used energy.

A slot is identified by its length and its start on the Unix clock (slots are aligned to
multiples of their length, so a restarted service finds the slot it was in). The row holds
absolute totals (energy used, requests, rejections), rewritten on every sample: a crash loses
at most one sampling period of energy and never counts any twice. Requests are rows too:
``in_flight`` while they run, then ``done`` with predicted and measured energy; rows still
``in_flight`` when a service starts belonged to a killed process and become ``lost`` (the
energy they used before the crash is already in their slot's total).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (
    slot_s REAL NOT NULL,
    start_unix REAL NOT NULL,
    budget_j REAL NOT NULL,
    used_j REAL NOT NULL DEFAULT 0,
    attributed_j REAL NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    degraded INTEGER NOT NULL DEFAULT 0,
    updated_unix REAL NOT NULL,
    PRIMARY KEY (slot_s, start_unix)
);
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    slot_s REAL NOT NULL,
    slot_start_unix REAL NOT NULL,
    predicted_j REAL,
    measured_j REAL,
    plan_energy_j REAL,
    accuracy REAL,
    models TEXT,
    outcome TEXT,
    created_unix REAL NOT NULL,
    finished_unix REAL
);
CREATE INDEX IF NOT EXISTS requests_slot ON requests (slot_s, slot_start_unix);
"""


@dataclass
class SlotRow:
    """One slot's persisted totals."""

    slot_s: float
    start_unix: float
    budget_j: float
    used_j: float = 0.0
    attributed_j: float = 0.0
    requests: int = 0
    rejected: int = 0
    degraded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_unix": self.start_unix,
            "end_unix": self.start_unix + self.slot_s,
            "budget_j": self.budget_j,
            "used_j": self.used_j,
            "attributed_j": self.attributed_j,
            "requests": self.requests,
            "rejected": self.rejected,
            "degraded": self.degraded,
        }


class SlotStore:
    """SQLite file (WAL, one connection guarded by a lock; safe across threads)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=5.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self.lost = self._mark_lost()

    def _mark_lost(self) -> int:
        with self._lock:
            cur = self._db.execute(
                "UPDATE requests SET state='lost', outcome='the service stopped while it ran' "
                "WHERE state='in_flight'"
            )
            return cur.rowcount

    def load_slot(self, slot_s: float, start_unix: float, budget_j: float) -> SlotRow:
        """The slot's row (created empty if new). A changed budget applies from now on."""
        with self._lock:
            row = self._db.execute(
                "SELECT used_j, attributed_j, requests, rejected, degraded FROM slots "
                "WHERE slot_s=? AND start_unix=?",
                (slot_s, start_unix),
            ).fetchone()
        if row is None:
            slot = SlotRow(slot_s, start_unix, budget_j)
            self.save_slot(slot)
            return slot
        return SlotRow(slot_s, start_unix, budget_j, *row)

    def save_slot(self, slot: SlotRow) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO slots (slot_s, start_unix, budget_j, used_j, attributed_j, "
                "requests, rejected, degraded, updated_unix) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (slot_s, start_unix) DO UPDATE SET budget_j=excluded.budget_j, "
                "used_j=excluded.used_j, attributed_j=excluded.attributed_j, "
                "requests=excluded.requests, rejected=excluded.rejected, "
                "degraded=excluded.degraded, updated_unix=excluded.updated_unix",
                (
                    slot.slot_s,
                    slot.start_unix,
                    _finite(slot.budget_j),
                    slot.used_j,
                    slot.attributed_j,
                    slot.requests,
                    slot.rejected,
                    slot.degraded,
                    time.time(),
                ),
            )

    def recent_slots(self, slot_s: float, limit: int = 10) -> list[SlotRow]:
        """The latest ``limit`` slots of this length, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT start_unix, budget_j, used_j, attributed_j, requests, rejected, degraded "
                "FROM slots WHERE slot_s=? ORDER BY start_unix DESC LIMIT ?",
                (slot_s, limit),
            ).fetchall()
        return [SlotRow(slot_s, r[0], _infinite(r[1]), *r[2:]) for r in rows]

    def begin_request(
        self, rid: str, kind: str, slot_s: float, slot_start: float, created_unix: float
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO requests (id, kind, state, slot_s, slot_start_unix, created_unix) "
                "VALUES (?,?,?,?,?,?)",
                (rid, kind, "in_flight", slot_s, slot_start, created_unix),
            )

    def finish_request(
        self,
        rid: str,
        predicted_j: float,
        measured_j: float,
        plan_energy_j: float | None,
        accuracy: float | None,
        models: list[str],
        outcome: str,
        finished_unix: float,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE requests SET state='done', predicted_j=?, measured_j=?, plan_energy_j=?, "
                "accuracy=?, models=?, outcome=?, finished_unix=? WHERE id=?",
                (
                    predicted_j,
                    measured_j,
                    plan_energy_j,
                    accuracy,
                    json.dumps(models),
                    outcome,
                    finished_unix,
                    rid,
                ),
            )

    def requests_in_slot(self, slot_s: float, slot_start: float) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(
                "SELECT id, kind, state, predicted_j, measured_j, plan_energy_j, accuracy, "
                "outcome FROM requests WHERE slot_s=? AND slot_start_unix=? "
                "ORDER BY created_unix",
                (slot_s, slot_start),
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def prune_requests(self, older_than_unix: float) -> int:
        """Forget finished request rows created before ``older_than_unix`` (slots stay)."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM requests WHERE state != 'in_flight' AND created_unix < ?",
                (older_than_unix,),
            )
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _finite(value: float) -> float:
    """SQLite REAL cannot hold inf portably: store a huge number instead."""
    return value if value < 1e300 else 1e308


def _infinite(value: float) -> float:
    return float("inf") if value >= 1e308 else value
