"""Exact branch-and-bound specialised for the selection problem (the in-process fast path).

Depth-first search over the nodes in topological order; at depth ``k`` nodes ``0..k-1``
have a model. Every pruning rule below is a valid relaxation, so a completed search
*proves* optimality (or infeasibility); a search stopped by its node or time limit proves
nothing and the caller falls back to the MILP.

Bounds for the nodes still open (``k..n-1``):

- **Additive budgets** (energy, cost, accuracy as ``-log a``, latency when sequential):
  accumulated value + the suffix sum of each open node's smallest value must fit.
- **Makespan** (parallel): with finish times ``f_u`` of the assigned nodes, every path from
  ``u`` continues through at least the fastest candidates, so
  ``T >= max_u (f_u + tail_u)`` where ``tail_u`` is the longest fastest path after ``u``,
  and ``T >=`` the longest fastest path of the whole graph.
- **Memory**: the distinct models already loaded must fit.
- **Objective**: accumulated separable part + a Lagrangian bound on the rest: for every
  additive budget ``r`` with slack ``s_r`` and any ``lam >= 0``,
  ``sum_open min_m (c_m + lam * g_m) - lam * s_r`` bounds the open nodes' separable cost
  (``c`` the objective coefficient, ``g`` the budget coefficient); the best ``lam`` of a
  fixed grid is used (``lam = 0`` is the plain suffix minimum). The makespan term adds
  ``w_L / T_ref`` times the makespan bound.

Leaves are checked with `solvers.model.violations` and valued with
`solvers.model.objective_value`, the same functions that check every backend, so budgets
are enforced exactly as everywhere else; the pruning tests use budgets loosened by
``1e-9`` relative so float round-off never prunes a feasible plan.

`reduce_by_bound` uses the same root bound with one node's model fixed: a candidate whose
bound exceeds a known plan's objective is in no optimal plan, so removing it is exact.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from solvers.model import (
    SelectionProblem,
    accuracy_floor,
    budget_limit,
    evaluate,
    objective_value,
    per_row,
    violations,
)
from solvers.pareto import Relaxation, additive_relaxation, lagrangian_bound, suffix_fronts

#: Objective tolerance: a subtree is pruned when its bound is within this of the incumbent.
OBJ_TOL = 1e-12
#: Relative loosening of the pruning budgets (leaves are checked exactly).
PRUNE_SLACK = 1e-9
#: A search still this far (relative) from its bound after ``stall_nodes`` gives up.
STALL_GAP = 0.02
#: Search nodes of the first dive on larger problems (finds a plan to start from).
DIVE_NODES = 20_000
#: Up to this many nodes the fronts are built without a cutoff (one search).
SMALL_NODES = 16
#: Lagrange multipliers tried, as multiples of each budget's natural price.
LAMBDA_GRID = (0.0, *(2.0 ** (j / 2.0) for j in range(-12, 13)))


@dataclass(frozen=True)
class BnbResult:
    """``proven``: the search finished, so ``choice`` is optimal (or None: infeasible)."""

    proven: bool
    choice: tuple[int, ...] | None
    objective: float | None
    root_bound: float
    nodes: int


def _loose(limit: float) -> float:
    return budget_limit(limit, PRUNE_SLACK)


class _Data:
    """Arrays the search reads, computed once per problem."""

    def __init__(self, problem: SelectionProblem) -> None:
        n = problem.n_nodes
        self.n = n
        cands = problem.candidates
        w = problem.weights
        assert problem.scales is not None
        e_ref, l_ref, c_ref = problem.scales
        b = problem.budgets
        floors = problem.node_min_accuracy
        # candidates allowed by the per-node accuracy floors
        self.allowed: list[list[int]] = []
        for v in range(n):
            floor = floors[v] if floors is not None else None
            self.allowed.append(
                list(range(len(cands[v])))
                if floor is None
                else [i for i, c in enumerate(cands[v]) if c.accuracy >= floor]
            )
        shape = problem.shape
        dispatch = problem.dispatch_ms
        # durations (`SelectionProblem.duration`); rows of a shared candidate tuple are
        # computed once (`per_row`; read only)
        self.lat = per_row(problem, lambda c: c.latency_ms + dispatch)
        we, wc, wl = w.energy, w.cost, w.latency * shape.work
        self.sep = per_row(
            problem,
            lambda c: (
                we * c.energy_j / e_ref
                + wc * c.cost_usd / c_ref
                + wl * (c.latency_ms + dispatch) / l_ref
            ),
        )
        # additive budgets: coefficient per candidate, loosened limit
        self.res: list[tuple[list[list[float]], float]] = []
        if b.energy_j is not None:
            self.res.append((per_row(problem, lambda c: c.energy_j), _loose(b.energy_j)))
        if b.cost_usd is not None:
            self.res.append((per_row(problem, lambda c: c.cost_usd), _loose(b.cost_usd)))
        if b.min_accuracy is not None:
            self.res.append(
                (
                    per_row(problem, lambda c: -math.log(c.accuracy)),
                    -accuracy_floor(b.min_accuracy, PRUNE_SLACK),
                )
            )
        if b.latency_ms is not None and shape.path == 0:  # S + loads + W <= B_L
            self.res.append((self.lat, _loose(b.latency_ms) - problem.startup_ms))
        # memory: key index per candidate
        self.mem_limit = _loose(b.memory_mb) if b.memory_mb is not None else None
        mem_by_key = problem.memory_by_key
        keys = sorted(mem_by_key)
        key_id = {k: j for j, k in enumerate(keys)}
        self.key = per_row(problem, lambda c: key_id[c.key])
        self.key_mem = [mem_by_key[k] for k in keys]
        # cold loads, paid once per key: (latency, objective) added when a key first loads
        loads = problem.load_by_key
        self.key_load_ms = [loads[k][0] for k in keys]
        self.key_load_obj = [
            w.energy * loads[k][1] / e_ref + w.latency * loads[k][0] / l_ref for k in keys
        ]
        # the latency bound S + loads + omega W + pi T: T tracked when pi > 0
        self.work = shape.work
        self.startup = problem.startup_ms
        self.const = w.latency * problem.startup_ms / l_ref
        self.track_time = shape.path > 0 and (b.latency_ms is not None or w.latency > 0)
        self.lat_limit = _loose(b.latency_ms) if b.latency_ms is not None else math.inf
        self.w_time = w.latency * shape.path / l_ref
        self.path = shape.path
        self.preds = problem.predecessors()
        inf = math.inf
        allowed = self.allowed

        def least(rows: list[list[float]], v: int) -> float:
            """The least of ``rows[v]`` over node v's allowed candidates (inf: none)."""
            row = rows[v]
            if len(allowed[v]) == len(row):  # all of them: the same minimum, at C speed
                return min(row, default=inf)
            return min((row[i] for i in allowed[v]), default=inf)

        fastest = [least(self.lat, v) for v in range(n)]
        succs = problem.successors()
        self.tail = [0.0] * n
        for v in reversed(range(n)):
            self.tail[v] = max((fastest[s] + self.tail[s] for s in succs[v]), default=0.0)
        self.head = [0.0] * n
        for v in range(n):
            self.head[v] = max((self.head[u] + fastest[u] for u in self.preds[v]), default=0.0)
        self.static_time = (
            max((self.head[v] + fastest[v] + self.tail[v] for v in range(n)), default=0.0)
            if n
            else 0.0
        )
        self.suf_w = [0.0] * (n + 1)  # least work of the open nodes
        for v in reversed(range(n)):
            self.suf_w[v] = self.suf_w[v + 1] + fastest[v]
        # suffix minima: sep and each additive budget
        self.suf_sep = [0.0] * (n + 1)
        for v in reversed(range(n)):
            self.suf_sep[v] = self.suf_sep[v + 1] + least(self.sep, v)
        self.suf_res = []
        for coef, _ in self.res:
            suf = [0.0] * (n + 1)
            for v in reversed(range(n)):
                suf[v] = suf[v + 1] + least(coef, v)
            self.suf_res.append(suf)
        self._tables_ready = False

    # -- Lagrangian bound -------------------------------------------------------------------
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        n = self.n
        width = max((len(c) for c in self.sep), default=1)
        sep = np.full((n, width), np.inf)
        coef = np.zeros((len(self.res), n, width))
        for v in range(n):
            for i in self.allowed[v]:
                sep[v, i] = self.sep[v][i]
                for r, (c, _) in enumerate(self.res):
                    coef[r, v, i] = c[v][i]
        return sep, coef

    def _grid(self, sep: np.ndarray, coef: np.ndarray) -> np.ndarray:
        import numpy as np

        n_res = len(self.res)
        if n_res == 0:
            return np.zeros((1, 0))
        finite = np.isfinite(sep)
        sep_nan = np.where(finite, sep, np.nan)
        spread_c = float(np.nansum(np.nanmax(sep_nan, 1) - np.nanmin(sep_nan, 1)))
        prices = []
        for r in range(n_res):
            g = np.where(finite, coef[r], np.nan)
            spread_g = float(np.nansum(np.nanmax(g, 1) - np.nanmin(g, 1)))
            prices.append(spread_c / spread_g if spread_g > 0 and spread_c > 0 else 0.0)
        steps = np.array(LAMBDA_GRID[1:])
        price = np.array(prices)
        vectors = [np.zeros((1, n_res))]
        for r in range(n_res):  # each budget alone
            m = np.zeros((len(steps), n_res))
            m[:, r] = steps * price[r]
            vectors.append(m)
        coarse = steps[::2]
        a, c = np.meshgrid(coarse, coarse, indexing="ij")
        for r in range(n_res):  # pairs of budgets on a coarser grid
            for q in range(r + 1, n_res):
                if price[r] == 0 or price[q] == 0:
                    continue
                m = np.zeros((a.size, n_res))
                m[:, r], m[:, q] = a.ravel() * price[r], c.ravel() * price[q]
                vectors.append(m)
        return np.unique(np.vstack(vectors), axis=0)

    def _lagrangian_tables(self) -> None:
        import numpy as np

        sep, coef = self._arrays()
        mult = self._grid(sep, coef)
        # vals[j, v, i] = sep + sum_r mult[j, r] * coef[r, v, i]
        vals = sep[None, :, :] + np.einsum("jr,rvi->jvi", mult, coef)
        mins = vals.min(axis=2)  # (J, n)
        table = np.zeros((self.n + 1, len(mult)))
        table[: self.n] = np.cumsum(mins[:, ::-1], axis=1)[:, ::-1].T
        limits = np.array([limit for _, limit in self.res])
        root = table[0] - mult @ limits if len(self.res) else table[0]
        self.mult = mult
        self.table = table
        self.vals = vals
        self.limits = limits
        self.best_root = int(np.argmax(root)) if len(root) else 0

    def lagrange(self, depth: int, accs: list[float]) -> float:
        """Best Lagrangian bound on the separable cost of nodes ``depth..n-1``."""
        import numpy as np

        if not self._tables_ready:
            self._lagrangian_tables()
            self._tables_ready = True
        if not self.res:
            return float(self.table[depth, 0])
        slack = self.limits - np.asarray(accs)
        return float((self.table[depth] - self.mult @ slack).max())


class _Completion:
    """Exact cheapest completion of the additive relaxation (see `solvers.pareto`)."""

    def __init__(
        self,
        g: list[list[float]],
        g_limit: float,
        cap: float,
        fronts: list[tuple[list[float], list[float]]],
    ) -> None:
        self.g, self.g_limit, self.cap, self.fronts = g, g_limit, cap, fronts


def _completion(
    rel: Relaxation, cutoff: float, max_states: int, deadline: float
) -> _Completion | None:
    import numpy as np

    fronts = suffix_fronts(rel, cutoff, max_states, deadline, first=1)  # expand reads 1..n
    if fronts is None:
        return None
    g = rel.g if rel.g is not None else np.zeros_like(rel.sep)
    return _Completion(
        np.where(np.isfinite(rel.sep), g, 0.0).tolist(), rel.g_limit, rel.cap, fronts
    )


def branch_and_bound(
    problem: SelectionProblem,
    node_limit: int = 200_000,
    time_limit_s: float = 10.0,
    incumbent: tuple[int, ...] | None = None,
    max_states: int = 200_000,
    gap_rel: float = 0.0,
    stall_nodes: int | None = None,
    dive_only: bool = False,
) -> BnbResult:
    """Search ``problem`` exhaustively (see the module docstring).

    When the additive relaxation has at most one budget left (`solvers.pareto`), the
    bound is its exact cheapest completion, and the search runs with growing cutoffs
    ``z (1 + delta)`` above the relaxed optimum ``z``: a round that finds a plan below
    its cutoff has found the optimum (nothing better exists anywhere); a round that finds
    none proves that no plan is below the cutoff, and the next round raises it.

    Stops after ``node_limit`` search nodes or ``time_limit_s`` seconds in all; then
    ``proven`` is False and ``choice`` is the best plan found so far (possibly None).
    ``incumbent`` is an optional known feasible plan. With ``gap_rel > 0`` subtrees whose
    bound is within ``gap_rel`` of the best plan are pruned too, so a finished search
    proves the plan within that relative gap (``bound`` says how close).

    ``dive_only``: stop after the first dive (problems above SMALL_NODES nodes): its plan
    and the root bound, for a MILP to start from.

    ``stall_nodes``: after this many search nodes the search continues only while its best
    plan is
    within ``STALL_GAP`` of the proven bound (a search far from closing, typically when a
    latency budget binds hard and the relaxation ignores it, hands over to the MILP early).
    """
    start = time.perf_counter()
    deadline = start + time_limit_s
    stall = node_limit if stall_nodes is None else stall_nodes
    d = _Data(problem)
    if d.n == 0:
        return BnbResult(True, (), 0.0, 0.0, 0)
    if not all(d.allowed):  # a node has no model meeting its accuracy floor
        return BnbResult(True, None, None, math.inf, 0)
    best_obj = math.inf
    best: tuple[int, ...] | None = None
    if incumbent is not None and not violations(problem, incumbent):
        best = tuple(incumbent)
        best_obj = objective_value(problem, evaluate(problem, best, simulate=False))
    nodes = 0
    static = d.w_time * d.static_time + d.const
    rel = additive_relaxation(problem, separable_part=True)
    if rel is not None:
        # a small problem searched once with its full fronts from no plan, gap 0: a plan
        # it finds is optimal and is its own bound, so the Lagrangian root bound is only
        # computed (by `root`) where an answer reports it
        lazy = d.n <= SMALL_NODES and best is None and not dive_only and gap_rel <= 0

        def root() -> float:
            assert rel is not None
            return lagrangian_bound(rel) + static

        root_bound = math.nan if lazy else root()
        base = 1e-12 if lazy else max(root_bound, 1e-12)
        if d.n > SMALL_NODES and best is None:
            # a first plan from a short dive (Lagrangian bounds), so that a search stopped
            # by its limits still has a plan to hand over
            found, obj, count, _ = _search(
                problem,
                d,
                math.inf,
                min(DIVE_NODES, node_limit, stall),
                deadline,
                None,
                1.0,
            )
            nodes += count
            if found is not None:
                best, best_obj = found, obj
        if dive_only:  # a first plan and the root bound, for the MILP to start from
            proven = best is not None and best_obj * (1.0 - gap_rel) <= root_bound
            return BnbResult(
                proven, best, best_obj if best is not None else None, root_bound, nodes
            )
        if best is not None and best_obj * (1.0 - gap_rel) <= root_bound:
            return BnbResult(True, best, best_obj, _bound(root_bound, best_obj, gap_rel), nodes)
        # small problems: one search with the full fronts; larger: growing cutoffs
        deltas = (math.inf,) if d.n <= SMALL_NODES else (0.005, 0.03, 0.2, math.inf)
        for delta in deltas:
            close = best is not None and best_obj - root_bound <= STALL_GAP * best_obj
            round_nodes = node_limit - nodes if close else max(0, min(node_limit, stall) - nodes)
            cutoff = min(base * (1.0 + max(delta, gap_rel)), best_obj)
            final = cutoff >= best_obj
            comp = _completion(
                rel,
                cutoff * (1 + 1e-9) + 1e-12 if math.isfinite(cutoff) else cutoff,
                max_states,
                deadline,
            )
            if comp is None or time.perf_counter() > deadline:
                root_bound = root() if lazy else root_bound
                if time.perf_counter() > deadline:
                    return BnbResult(
                        False, best, best_obj if best is not None else None, root_bound, nodes
                    )
                break  # fronts too large: plain Lagrangian search below
            found, obj, count, stopped = _search(
                problem, d, cutoff, round_nodes, deadline, comp, gap_rel
            )
            nodes += count
            if found is not None and not stopped:
                # lazy: gap 0, so the bound is the plan's objective itself
                return BnbResult(True, found, obj, _bound(root_bound, obj, gap_rel), nodes)
            root_bound = root() if lazy else root_bound
            lazy = False
            if stopped:
                if found is not None and obj < best_obj:
                    best, best_obj = found, obj
                return BnbResult(
                    False, best, best_obj if best is not None else None, root_bound, nodes
                )
            if final:  # nothing below the incumbent (or infeasible)
                if best is None:
                    return BnbResult(True, None, None, root_bound, nodes)
                return BnbResult(True, best, best_obj, _bound(root_bound, best_obj, gap_rel), nodes)
            root_bound = max(root_bound, cutoff)  # proven: no plan below the cutoff
            if best is not None and best_obj * (1.0 - gap_rel) <= root_bound:
                return BnbResult(True, best, best_obj, _bound(root_bound, best_obj, gap_rel), nodes)
    root_bound = max(
        root_bound if rel is not None else -math.inf, d.lagrange(0, [0.0] * len(d.res)) + static
    )
    found, obj, count, stopped = _search(
        problem,
        d,
        best_obj,
        max(0, min(node_limit, stall) - nodes),
        deadline,
        None,
        gap_rel,
        best is not None,
    )
    nodes += count
    if found is not None and obj < best_obj:
        best, best_obj = found, obj
    if best is not None and not stopped:
        root_bound = _bound(root_bound, best_obj, gap_rel)
    return BnbResult(not stopped, best, best_obj if best is not None else None, root_bound, nodes)


def _bound(root_bound: float, objective: float, gap_rel: float) -> float:
    """Lower bound proven by a finished search that found ``objective``."""
    if gap_rel <= 0:
        return objective
    return min(objective, max(root_bound, objective * (1.0 - gap_rel)))


def _search(
    problem: SelectionProblem,
    d: _Data,
    cutoff: float,
    node_limit: int,
    deadline: float,
    comp: _Completion | None,
    gap_rel: float = 0.0,
    have_plan: bool = False,
) -> tuple[tuple[int, ...] | None, float, int, bool]:
    """Depth-first search for the best plan with objective below ``cutoff``; at each
    depth the children are valued once and tried best bound first.
    Returns (plan or None, its objective, nodes valued, stopped by a limit)."""
    n = d.n
    n_res = len(d.res)
    best_obj = cutoff
    best: tuple[int, ...] | None = None
    acc_sep = [0.0] * (n + 1)
    acc_res: list[list[float]] = [[0.0] * n_res for _ in range(n + 1)]
    acc_mem = [0.0] * (n + 1)
    acc_t = [0.0] * (n + 1)  # running max of f_u + tail_u
    acc_g = [0.0] * (n + 1)
    acc_w = [0.0] * (n + 1)  # work of the assigned nodes (for the latency budget)
    acc_lms = [0.0] * (n + 1)  # load time of the keys loaded so far
    acc_lobj = [0.0] * (n + 1)  # objective of the loads so far
    finish = [0.0] * n
    chosen = [-1] * n
    kids: list[list[tuple]] = [[] for _ in range(n)]
    pos = [0] * n
    loaded = [0] * len(d.key_mem)
    nodes = 0
    sep, res, lat, keys, key_mem = d.sep, d.res, d.lat, d.key, d.key_mem
    preds, tail, allowed = d.preds, d.tail, d.allowed
    suf_res = d.suf_res
    mem_limit = d.mem_limit
    lat_limit = d.lat_limit
    w_time = d.w_time
    static_time = d.static_time
    track_time = d.track_time
    const = d.const
    work, path, startup, suf_w = d.work, d.path, d.startup, d.suf_w
    key_load_ms, key_load_obj = d.key_load_ms, d.key_load_obj
    lat_budget = lat_limit < math.inf
    if comp is not None:
        comp_g, g_limit, cap, fronts = comp.g, comp.g_limit, comp.cap, comp.fronts
    check_at = min(512, node_limit)
    stopped = False

    found_plan = have_plan

    def prune_at() -> float:
        """Subtrees whose bound reaches this cannot improve enough."""
        target = best_obj * (1.0 - gap_rel) if found_plan else best_obj
        return target - OBJ_TOL * max(1.0, abs(best_obj))

    def expand(depth: int) -> list[tuple]:
        """Feasible children of ``depth`` with their bounds, best first."""
        out = []
        nxt = depth + 1
        prev = acc_res[depth]
        # this depth's rows and sums, read once per expansion (same arithmetic as per child)
        checks = [(prev[r], res[r][0][depth], suf_res[r][nxt], res[r][1]) for r in range(n_res)]
        start_t = max((finish[u] for u in preds[depth]), default=0.0) if track_time else 0.0
        limit = prune_at()
        keys_d, lat_d, sep_d = keys[depth], lat[depth], sep[depth]
        mem0, lms0, lobj0 = acc_mem[depth], acc_lms[depth], acc_lobj[depth]
        t0, w0, s0, tail_d, suf_w_next = (
            acc_t[depth],
            acc_w[depth],
            acc_sep[depth],
            tail[depth],
            suf_w[nxt],
        )
        if comp is not None:
            g0, comp_g_d = acc_g[depth], comp_g[depth]
            uses, costs = fronts[nxt]
        for i in allowed[depth]:
            values = []
            for p, coef, suf, lim in checks:
                value = p + coef[i]
                if value + suf > lim:
                    break
                values.append(value)
            else:
                key = keys_d[i]
                mem = mem0
                lms = lms0
                lobj = lobj0
                if loaded[key] == 0:
                    mem += key_mem[key]
                    if mem_limit is not None and mem > mem_limit:
                        continue
                    lms += key_load_ms[key]
                    lobj += key_load_obj[key]
                t_bound = t0
                f = 0.0
                wk = w0 + lat_d[i]
                if track_time:
                    f = start_t + lat_d[i]
                    reach = f + tail_d
                    if reach > t_bound:
                        t_bound = reach
                    if lat_budget and (
                        startup + lms + work * (wk + suf_w_next) + path * t_bound > lat_limit
                    ):
                        continue
                s = s0 + sep_d[i]
                time_part = (
                    lobj + const + w_time * (t_bound if t_bound > static_time else static_time)
                )
                gsum = 0.0
                if comp is not None:
                    gsum = g0 + comp_g_d[i]
                    k = bisect_right(uses, g_limit - gsum) - 1
                    if k < 0:
                        continue
                    rest = costs[k]
                    if s + rest > cap:
                        continue
                    bound = s + rest + time_part
                else:
                    bound = s + d.lagrange(nxt, values) + time_part
                if bound >= limit:
                    continue
                out.append((bound, i, s, values, mem, t_bound, f, gsum, wk, lms, lobj))
        out.sort(key=lambda kid: (kid[0], kid[1]))
        return out

    depth = 0
    kids[0] = expand(0)
    nodes += len(allowed[0])
    while depth >= 0:
        if chosen[depth] >= 0:  # leave the previous choice at this depth
            loaded[keys[depth][chosen[depth]]] -= 1
            chosen[depth] = -1
        options = kids[depth]
        if pos[depth] >= len(options) or options[pos[depth]][0] >= prune_at():
            pos[depth] = 0
            depth -= 1
            continue
        _, i, s, values, mem, t_bound, f, gsum, wk, lms, lobj = options[pos[depth]]
        pos[depth] += 1
        nxt = depth + 1
        chosen[depth] = i
        loaded[keys[depth][i]] += 1
        if nxt == n:
            choice = tuple(chosen)
            totals = evaluate(problem, choice, simulate=False)
            if not violations(problem, choice, totals):
                obj = objective_value(problem, totals)
                if obj < best_obj:
                    best_obj, best = obj, choice
                    found_plan = True
            continue
        if track_time:
            finish[depth] = f
        acc_sep[nxt] = s
        acc_res[nxt] = values
        acc_mem[nxt] = mem
        acc_t[nxt] = t_bound
        acc_g[nxt] = gsum
        acc_w[nxt] = wk
        acc_lms[nxt] = lms
        acc_lobj[nxt] = lobj
        nodes += len(allowed[nxt])
        if nodes >= check_at:
            check_at = nodes + 512
            if nodes >= node_limit or time.perf_counter() > deadline:
                stopped = True
                break
        kids[nxt] = expand(nxt)
        pos[nxt] = 0
        depth = nxt
    return best, best_obj, nodes, stopped
