"""Run history in SQLite: every run and node measurement, and catalogs re-derived from them.

One file (WAL mode, so readers never block the writer; a busy timeout, so two runs that finish
together both get recorded). Default location: ``$PLANNER_HISTORY`` if set, else
``history.sqlite`` in the user's data directory (``platformdirs.user_data_dir``, on Linux
``$XDG_DATA_HOME/cost-aware-planner`` or ``~/.local/share/cost-aware-planner``).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from planner.errors import PlannerError
from planner.measure import hardware_label
from planner.report import Report
from profiles import Catalog, ModelProfile, Provenance

APP_NAME = "cost-aware-planner"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
#: Largest ``--last`` (SQLite integers are 64-bit; no model has this many measurements).
MAX_LAST = 1_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    request TEXT,
    problem TEXT,
    executor TEXT NOT NULL,
    execution TEXT NOT NULL,
    n_nodes INTEGER NOT NULL,
    n_succeeded INTEGER NOT NULL,
    wall_ms REAL NOT NULL,
    energy_j REAL NOT NULL,
    replans INTEGER NOT NULL,
    run_dir TEXT,
    hardware TEXT NOT NULL,
    hardware_json TEXT NOT NULL,
    versions_json TEXT NOT NULL,
    report_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    energy_j REAL NOT NULL,
    energy_source TEXT NOT NULL,
    peak_memory_mb REAL NOT NULL,
    predicted_latency_ms REAL,
    predicted_energy_j REAL,
    attempts INTEGER NOT NULL,
    hardware TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS measurements_model ON measurements (model, task, id);
"""


@functools.cache
def _columns() -> dict[str, list[str]]:
    """Column names of each table of this version's schema (to recognise another layout)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(_SCHEMA)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
            for t in tables
            if not t.startswith("sqlite_")
        }
    finally:
        conn.close()


class HistoryError(PlannerError, RuntimeError):
    """The history database cannot be opened or is not ours."""


def default_history_path() -> Path:
    env = os.environ.get("PLANNER_HISTORY")
    if env:
        return Path(env).expanduser()
    return data_dir() / "history.sqlite"


def data_dir() -> Path:
    """The user's data directory for this tool (honours ``XDG_DATA_HOME``)."""
    try:
        import platformdirs

        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a core dependency
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / APP_NAME


class RunRow(BaseModel):
    """One line of `planner history`."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    started_at: str
    status: str
    problem: str | None
    request: str | None
    executor: str
    n_nodes: int
    n_succeeded: int
    wall_ms: float
    energy_j: float
    replans: int
    run_dir: str | None
    hardware: str


class History:
    """The history database at ``path`` (created on first use)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_history_path()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(
                f"cannot open the run history {self.path}: {exc}; choose "
                "another file with --history or PLANNER_HISTORY"
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.row_factory = sqlite3.Row
            self._ensure_schema(conn)
            yield conn
        except (sqlite3.Error, ValueError, TypeError) as exc:  # a file of another schema
            raise HistoryError(
                f"the run history {self.path} is unusable: {exc}; move it "
                "away or choose another file with --history"
            ) from exc
        finally:
            conn.close()

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif str(row[0]).strip() != str(SCHEMA_VERSION):
                raise HistoryError(
                    f"{self.path} has history schema {str(row[0])[:40]!r}, this version reads "
                    f"{SCHEMA_VERSION}; move it away or choose another file with --history"
                )
            for table, columns in _columns().items():
                found = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
                if found != columns:
                    raise HistoryError(
                        f"{self.path}: table {table!r} has columns {found}, not those of "
                        "this version's history; move it away or choose another file with "
                        "--history"
                    )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def record(self, report: Report) -> None:
        """Store a run and its node measurements in one transaction."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        label = hardware_label(report.hardware)
        ok = [n for n in report.nodes if n.status == "succeeded" and n.measured and n.model]
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        report.run_id,
                        report.started_at,
                        now,
                        report.status,
                        report.message,
                        report.request,
                        report.problem,
                        report.executor,
                        report.execution,
                        len(report.nodes),
                        len(ok),
                        report.wall_ms,
                        report.totals_measured.get("energy_j", 0.0),
                        len(report.replans),
                        report.run_dir,
                        label,
                        json.dumps(report.hardware),
                        json.dumps(report.versions),
                        report.to_json(),
                    ),
                )
                conn.execute("DELETE FROM measurements WHERE run_id = ?", (report.run_id,))
                for node in ok:
                    assert node.measured is not None and node.model is not None
                    conn.execute(
                        "INSERT INTO measurements (run_id, node_id, task, model, latency_ms, "
                        "energy_j, energy_source, peak_memory_mb, predicted_latency_ms, "
                        "predicted_energy_j, attempts, hardware, recorded_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            report.run_id,
                            node.id,
                            node.task,
                            node.model,
                            node.measured.latency_ms,
                            node.measured.energy_j,
                            node.measured.energy_source,
                            node.measured.peak_memory_mb,
                            node.predicted.latency_ms if node.predicted else None,
                            node.predicted.energy_j if node.predicted else None,
                            len(node.attempts),
                            label,
                            now,
                        ),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def runs(self, limit: int = 20) -> list[RunRow]:
        """The latest ``limit`` runs, newest first."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT run_id, started_at, status, problem, request, executor, n_nodes, "
                "n_succeeded, wall_ms, energy_j, replans, run_dir, hardware FROM runs "
                "ORDER BY recorded_at DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RunRow(**dict(row)) for row in rows]

    def report(self, run_id: str) -> Report:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT report_json FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise HistoryError(f"no run {run_id!r} in {self.path}; `planner history` lists them")
        return Report.model_validate_json(row[0])

    def measurements(
        self, model: str, task: str, last: int, hardware: str | None = None
    ) -> list[dict[str, Any]]:
        """The ``last`` successful measurements of (model, task), newest first."""
        sql = (
            "SELECT latency_ms, energy_j, energy_source, peak_memory_mb, hardware, "
            "recorded_at FROM measurements WHERE model = ? AND task = ?"
        )
        params: list[Any] = [model, task]
        if hardware is not None:
            sql += " AND hardware = ?"
            params.append(hardware)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(last)
        with self.connect() as conn:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]

    def count(self) -> tuple[int, int]:
        """(runs, measurements) stored."""
        with self.connect() as conn:
            runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            meas = conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        return int(runs), int(meas)


class ProfileUpdate(BaseModel):
    """What `update_catalog` changed for one row."""

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    samples: int
    latency_ms: tuple[float, float]
    energy_j: tuple[float, float]


def update_catalog(
    catalog: Catalog, history: History, last: int = 5, hardware: str | None = None
) -> tuple[Catalog, list[ProfileUpdate]]:
    """Re-derive latency and energy of every catalog row that has measurements: the median
    of its ``last`` measurements (on ``hardware`` when given). Accuracy and memory are kept:
    a run measures neither (peak memory is process-wide). A remote model's energy (an
    ``http`` adapter) is never replaced by what this machine measured (the client's own CPU
    time): only by figures its server reported (``remote-reported``), else it is kept."""
    from profiles.adapters import is_remote

    if not 1 <= last <= MAX_LAST:
        raise PlannerError(f"--last must be between 1 and {MAX_LAST}, got {last}")
    rows: list[ModelProfile] = []
    changes: list[ProfileUpdate] = []
    for m in catalog.models:
        samples = history.measurements(m.id, m.task, last, hardware)
        if not samples:
            rows.append(m)
            continue
        latency = statistics.median(s["latency_ms"] for s in samples)
        energy_samples = samples
        if is_remote(m.adapter):
            energy_samples = [s for s in samples if s["energy_source"] == "remote-reported"]
        if energy_samples:
            energy = statistics.median(s["energy_j"] for s in energy_samples)
            sources = {s["energy_source"] for s in energy_samples}
        else:  # nothing measured the remote model's energy: the profile's number stays
            energy = m.energy_j
            sources = {m.provenance.energy_source if m.provenance else "remote-unmeasured"}
        old = m.provenance.model_dump() if m.provenance else {}
        # the profiler's latency statistics describe the old number, not the new one
        old = {k: v for k, v in old.items() if not k.startswith("latency_")}
        provenance = Provenance(
            **{
                **old,
                "history_samples": len(samples),
                "previous_latency_ms": m.latency_ms,
                "previous_energy_j": m.energy_j,
                "source": "measured",
                "reference": f"planner run history {history.path}: median of the last "
                f"{len(samples)} run(s) (previously: "
                f"{old.get('reference') or old.get('source') or 'unknown'})",
                "hardware": samples[0]["hardware"],
                "energy_source": str(sources.pop()) if len(sources) == 1 else "estimate",
                "date": samples[0]["recorded_at"],
            }
        )
        rows.append(
            m.model_copy(
                update={"latency_ms": latency, "energy_j": energy, "provenance": provenance}
            )
        )
        changes.append(
            ProfileUpdate(
                model=m.id,
                task=m.task,
                samples=len(samples),
                latency_ms=(m.latency_ms, latency),
                energy_j=(m.energy_j, energy),
            )
        )
    extra = {k: v for k, v in catalog.model_dump().items() if k != "models"}
    return Catalog.model_validate({**extra, "models": [r.model_dump() for r in rows]}), changes
