"""A run whose nodes execute in worker processes (`planner.procpool`), for parallel plans.

The scheduling loop, retries, re-planning, budget guard and report are `_Run`'s; only where
an attempt runs differs. Models are loaded in the workers (once per worker), not here."""

from __future__ import annotations

import time
from typing import Any

from planner.execute import RunError, _Done, _NodeState, _Run, resolve_args
from planner.procpool import PoolError, ProcessPool
from planner.runners import RunnerError
from profiles import ModelProfile


class ProcessRun(_Run):
    loads_here = False
    pool_kind = "process"

    def _start_workers(self) -> None:
        # time.time() stamps from the workers -> this process's perf_counter clock
        self.offset = time.time() - time.perf_counter()
        size = self.opt.max_workers if self.parallel else 1
        try:
            self.procs = ProcessPool(size, self.opt.model_dump_json(), self._done)
            self.procs.load([p.model_dump_json() for p in self._chosen(self.runners)])
        except PoolError as exc:
            if hasattr(self, "procs"):
                self.procs.close()
            raise RunError(f"the worker processes could not load the models: {exc}") from exc

    def _chosen(self, model_ids: Any) -> list[ModelProfile]:
        out: dict[str, ModelProfile] = {}
        for st in self.nodes.values():
            if st.model is not None and st.model in model_ids and st.profile is not None:
                out.setdefault(st.model, st.profile)
        return list(out.values())

    def _warm_workers(self, runners: list[tuple[str, Any]]) -> None:
        """Models chosen by a re-plan were loaded in the workers by `_load`."""

    def _load(self, profile: ModelProfile) -> Any:
        try:
            self.procs.load([profile.model_dump_json()])
        except PoolError as exc:
            raise RunnerError(str(exc)) from exc
        return self.ex.factory.runner_for(profile)

    def _done(
        self,
        key: str,
        ok: bool,
        output: dict[str, Any] | None,
        error: str | None,
        marks: dict[str, float],
    ) -> None:
        node, _, token = key.rpartition("#")
        now = time.time()
        wall_start = marks.get("wall_start", now) - self.offset
        wall_end = marks.get("wall_end", now) - self.offset
        self.events.put(
            _Done(
                node,
                int(token),
                ok,
                output,
                error,
                marks.get("start", marks.get("wall_start", now)) - self.offset,
                marks.get("end", marks.get("wall_end", now)) - self.offset,
                marks.get("energy", 0.0),
                marks.get("peak", 0.0),
                wall_start,
                wall_end,
            )
        )

    def _launch(self, st: _NodeState) -> None:
        assert st.profile is not None
        args = resolve_args(
            self.problem.graph.node(st.id).args,
            {k: v.output for k, v in self.nodes.items() if v.output is not None},
            self.inputs,
        )
        key = f"{st.id}#{st.token}"
        try:
            self.procs.submit(key, st.profile.model_dump_json(), args)
        except PoolError as exc:
            now = time.perf_counter()
            self.events.put(
                _Done(st.id, st.token, False, None, str(exc), now, now, 0.0, 0.0, now, now)
            )

    def _abandon(self, st: _NodeState) -> None:
        try:
            self.procs.abandon(f"{st.id}#{st.token}")
        except PoolError as exc:
            self.stop_reason = f"a timed-out worker could not be replaced: {exc}"

    def _stop_workers(self) -> None:
        if hasattr(self, "procs"):
            self.procs.close()
