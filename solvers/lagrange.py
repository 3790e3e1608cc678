r"""The flow dual of critical-path objectives: a proven lower bound and good plans, fast.

For objectives with a critical-path term (parallel execution, latency weighted), the
selection problem is

.. math::

    \min\ \sum_v c_v(x_v) + w_T\,T \quad\text{s.t.}\quad
    T \ge \textstyle\sum_{v \in P} d_v(x_v)\ \ \forall \text{ paths } P,\quad
    \sum_v r_v(x_v) \le R_r\ \ \forall r,\quad S + \omega W + \pi T \le B_L

with ``c`` the separable part of the objective (energy, cost, the work term of the
latency bound), ``w_T = w_L \pi / L_{ref}``, ``r`` the additive budgets (energy, cost,
accuracy as ``-log a``) and the latency budget on the bound. Dualising the path rows with
multipliers ``lambda_P >= 0`` whose sum is ``F = w_T + nu pi`` (``nu`` the latency
budget's multiplier; any other sum makes the minimum over ``T`` unbounded or weaker), and
writing ``phi_v = sum_{P \ni v} lambda_P = F psi_v`` (``psi`` a convex combination of
path indicators, a unit flow),

.. math::

    L(\psi, \mu, \nu) = \sum_v \min_m \big[c_{vm} + (F \psi_v + \nu\omega) d_{vm}
        + \textstyle\sum_r \mu_r r_{vm}\big] - \sum_r \mu_r R_r - \nu (B_L - S) + w_L S/L_{ref}

is a lower bound on every feasible plan's objective for every ``psi`` in the path hull
and ``mu, nu >= 0`` (``sum_v psi_v d_v <= CP`` for any unit flow). It is separable per
node, so it costs one pass over the candidates. Cold loads and the memory budget are
relaxed away (they add only non-negative terms), so the bound holds with them too.

The ascent is deterministic and counted in iterations: ``psi`` follows dual averaging
with an entropy over the source-to-sink paths (the path distribution
``p(P) ~ exp(beta sum_{v in P} sigma_v)`` whose node marginals a forward-backward pass
over the DAG computes exactly), fed with each iterate's durations scaled by its critical
path; the budget multipliers are set by bisection on their subgradient for each ``psi``.
Each iterate's per-node minimiser is a plan (the side of the bisection that meets the
budget); the best feasible one is improved by `improve`, a local search over single
changes and exchanges that keep the accuracy budget, every move checked exactly.
"""

from __future__ import annotations

import math
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
    violations,
)

#: Dual iterations (a count, never seconds: the same input gives the same bound and plan).
DUAL_ITERATIONS = 120
#: Bisection steps per multiplier and iterate.
BISECT_STEPS = 18
#: Local-search moves applied at most (each one strictly improves the exact objective).
MAX_MOVES = 4000
#: Dual-averaging scale of the path entropy.
BETA = 10.0
_EPS = 1e-12


@dataclass(frozen=True)
class DualResult:
    """``bound``: proven lower bound on the objective (-inf when none); ``choice``: the
    best feasible plan found (None when none) and its exact ``objective``."""

    bound: float
    choice: tuple[int, ...] | None
    objective: float | None
    iterations: int


def applies(problem: SelectionProblem) -> bool:
    """Whether the objective has a critical-path term (otherwise the separable searches
    of `solvers.bnb` are exact and better)."""
    return problem.shape.path > 0 and problem.weights.latency > 0 and problem.n_nodes > 0


class _Arrays:
    def __init__(self, problem: SelectionProblem) -> None:
        import numpy as np

        n = problem.n_nodes
        cands = problem.candidates
        width = max(len(c) for c in cands)
        w = problem.weights
        assert problem.scales is not None
        e_ref, l_ref, c_ref = problem.scales
        shape = problem.shape
        floors = problem.node_min_accuracy
        real = np.zeros((n, width), dtype=bool)
        energy = np.zeros((n, width))
        cost = np.zeros((n, width))
        dur = np.zeros((n, width))
        nlog = np.zeros((n, width))
        for v, cs in enumerate(cands):
            floor = floors[v] if floors is not None else None
            for i, c in enumerate(cs):
                real[v, i] = floor is None or c.accuracy >= floor
                energy[v, i] = c.energy_j
                cost[v, i] = c.cost_usd
                dur[v, i] = problem.duration(c)
                nlog[v, i] = -math.log(c.accuracy)
        self.n, self.width, self.real = n, width, real
        self.dur = dur
        sep = w.energy * energy / e_ref + w.cost * cost / c_ref
        if shape.work:
            sep = sep + w.latency * shape.work * dur / l_ref
        self.sep = np.where(real, sep, np.inf)
        b = problem.budgets
        self.res: list[tuple[np.ndarray, float]] = []
        if b.min_accuracy is not None:
            self.res.append((nlog, -accuracy_floor(b.min_accuracy)))
        if b.energy_j is not None:
            self.res.append((energy, budget_limit(b.energy_j)))
        if b.cost_usd is not None:
            self.res.append((cost, budget_limit(b.cost_usd)))
        # a budget no plan can break needs no multiplier
        self.res = [
            (g, lim)
            for g, lim in self.res
            if float(np.where(real, g, -np.inf).max(axis=1).sum()) > lim
        ]
        self.work, self.path = shape.work, shape.path
        self.w_t = w.latency * shape.path / l_ref
        self.const = w.latency * problem.startup_ms / l_ref
        self.lat_room = (
            budget_limit(b.latency_ms) - problem.startup_ms if b.latency_ms is not None else None
        )
        preds = problem.predecessors()
        succs = problem.successors()
        self.preds, self.succs = preds, succs
        self.sources = [v for v in range(n) if not preds[v]]
        self.sinks = [v for v in range(n) if not succs[v]]
        self.rows = np.arange(n)


def _critical(preds: list[list[int]], d: list[float]) -> float:
    finish = list(d)
    for v, ps in enumerate(preds):
        if ps:
            finish[v] += max(finish[u] for u in ps)
    return max(finish, default=0.0)


def _marginals(a: _Arrays, pot: list[float]) -> np.ndarray:
    """Node marginals of ``p(P) ~ exp(sum_{v in P} pot_v)`` over source-to-sink paths."""
    import numpy as np

    n = a.n
    fwd = [0.0] * n
    for v in range(n):
        ps = a.preds[v]
        if not ps:
            fwd[v] = pot[v]
        elif len(ps) == 1:
            fwd[v] = pot[v] + fwd[ps[0]]
        else:
            top = max(fwd[u] for u in ps)
            fwd[v] = pot[v] + top + math.log(math.fsum(math.exp(fwd[u] - top) for u in ps))
    bwd = [0.0] * n
    for v in reversed(range(n)):
        ss = a.succs[v]
        if not ss:
            continue
        vals = [pot[s] + bwd[s] for s in ss]
        top = max(vals)
        bwd[v] = top + math.log(math.fsum(math.exp(x - top) for x in vals))
    top = max(fwd[v] for v in a.sinks)
    log_z = top + math.log(math.fsum(math.exp(fwd[v] - top) for v in a.sinks))
    return np.exp(np.minimum(np.array(fwd) + np.array(bwd) - log_z, 0.0))


def flow_dual(
    problem: SelectionProblem,
    iterations: int = DUAL_ITERATIONS,
    incumbent: tuple[int, ...] | None = None,
    deadline: float | None = None,
) -> DualResult:
    """The module's bound and its best plan, polished by `improve`."""
    import time

    import numpy as np

    a = _Arrays(problem)
    if not a.real.any(axis=1).all():
        return DualResult(math.inf, None, None, 0)
    n = a.n
    best: tuple[int, ...] | None = None
    best_obj = math.inf
    if incumbent is not None and not violations(problem, incumbent):
        best = tuple(incumbent)
        best_obj = objective_value(problem, evaluate(problem, best, simulate=False))
    n_mult = len(a.res) + (1 if a.lat_room is not None else 0)
    mult = np.zeros(n_mult)
    # a natural price per multiplier, to bracket the bisection
    finite = a.real
    sep_f = np.where(finite, a.sep, np.nan)
    spread_c = float(np.nansum(np.nanmax(sep_f, 1) - np.nanmin(sep_f, 1))) + a.w_t * 1.0
    prices = []
    for g, _ in a.res:
        gg = np.where(finite, g, np.nan)
        spread = float(np.nansum(np.nanmax(gg, 1) - np.nanmin(gg, 1)))
        prices.append(spread_c / spread if spread > 0 else 1.0)
    if a.lat_room is not None:
        dd = np.where(finite, a.dur, np.nan)
        spread = float(np.nansum(np.nanmax(dd, 1) - np.nanmin(dd, 1)))
        prices.append(spread_c / spread if spread > 0 else 1.0)
    bound = -math.inf
    acc_sigma = np.zeros(n)
    dur_f = np.where(finite, a.dur, 0.0)
    seen: set[tuple[int, ...]] = set()
    candidates: list[tuple[float, tuple[int, ...]]] = []
    it = 0

    def evaluate_at(psi: np.ndarray, m: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(dual value, argmin per node, subgradient per multiplier)."""
        nu = m[len(a.res)] if a.lat_room is not None else 0.0
        flow = a.w_t + nu * a.path
        cost = a.sep + (flow * psi + nu * a.work)[:, None] * dur_f
        for r, (g, _) in enumerate(a.res):
            if m[r]:
                cost = cost + m[r] * g
        pick = np.argmin(cost, axis=1)
        value = float(cost[a.rows, pick].sum()) + a.const
        grad = np.zeros(n_mult)
        for r, (g, lim) in enumerate(a.res):
            value -= m[r] * lim
            grad[r] = float(g[a.rows, pick].sum()) - lim
        if a.lat_room is not None:
            d = dur_f[a.rows, pick]
            value -= nu * a.lat_room
            grad[-1] = a.work * float(d.sum()) + a.path * float((psi * d).sum()) - a.lat_room
        return value, pick, grad

    for it in range(1, iterations + 1):
        if deadline is not None and time.perf_counter() > deadline:
            break
        pot = (BETA / math.sqrt(it)) * acc_sigma
        psi = _marginals(a, pot.tolist()) if it > 1 else _marginals(a, [0.0] * n)
        feasible_pick = None
        for _ in range(2 if n_mult > 1 else 1):  # coordinate ascent on the multipliers
            for r in range(n_mult):
                lo_m = mult.copy()
                lo_m[r] = 0.0
                _, _, grad0 = evaluate_at(psi, lo_m)
                if grad0[r] <= 0:  # the budget holds at no price
                    mult[r] = 0.0
                    continue
                hi = max(mult[r] * 2.0, prices[r])
                hi_m = mult.copy()
                for _ in range(40):
                    hi_m[r] = hi
                    _, _, gh = evaluate_at(psi, hi_m)
                    if gh[r] <= 0:
                        break
                    hi *= 4.0
                lo = 0.0
                for _ in range(BISECT_STEPS):
                    mid = 0.5 * (lo + hi)
                    hi_m[r] = mid
                    _, _, gm = evaluate_at(psi, hi_m)
                    if gm[r] > 0:
                        lo = mid
                    else:
                        hi = mid
                mult[r] = hi
        value, pick, _ = evaluate_at(psi, mult)
        bound = max(bound, value)
        # plans: the minimiser at the multipliers (feasible side of each bisection)
        feasible_pick = pick
        choice = tuple(int(i) for i in feasible_pick)
        if choice not in seen:
            seen.add(choice)
            if not violations(problem, choice):
                obj = objective_value(problem, evaluate(problem, choice, simulate=False))
                candidates.append((obj, choice))
                if obj < best_obj:
                    best, best_obj = choice, obj
        d = dur_f[a.rows, pick]
        cp = _critical(a.preds, d.tolist())
        acc_sigma += d / max(cp, _EPS)
    if best is not None:
        # polish the best few distinct plans
        candidates.sort()
        starts = [best] + [c for _, c in candidates[:3] if c != best]
        for start in starts:
            if deadline is not None and time.perf_counter() > deadline:
                break
            choice, obj = improve(problem, start, a, deadline)
            if obj < best_obj:
                best, best_obj = choice, obj
    if best is not None:
        bound = min(bound, best_obj)
    return DualResult(bound, best, best_obj if best is not None else None, it)


def improve(
    problem: SelectionProblem,
    start: tuple[int, ...],
    arrays: _Arrays | None = None,
    deadline: float | None = None,
    max_moves: int = MAX_MOVES,
) -> tuple[tuple[int, ...], float]:
    """Local search from the feasible plan ``start``: single changes and exchanges
    (one node down, another up, keeping the first budget), best first; every move is
    checked with `violations` and valued with `objective_value`, and taken only when it
    lowers the objective. Deterministic (counted moves; the deadline only stops it)."""
    import time

    import numpy as np

    a = arrays if arrays is not None else _Arrays(problem)
    n = a.n
    choice = list(start)
    obj = objective_value(problem, evaluate(problem, choice, simulate=False))
    dur = np.where(a.real, a.dur, np.inf)
    key_tol = 1e-12
    moves = 0
    tried: set[tuple[int, ...]] = set()
    while moves < max_moves:
        if deadline is not None and time.perf_counter() > deadline:
            break
        cur = np.array(choice)
        d = a.dur[a.rows, cur].tolist()
        head = [0.0] * n
        for v in range(n):
            ps = a.preds[v]
            if ps:
                head[v] = max(head[u] + d[u] for u in ps)
        tail = [0.0] * n
        for v in reversed(range(n)):
            ss = a.succs[v]
            if ss:
                tail[v] = max(tail[s] + d[s] for s in ss)
        hv = np.array(head)
        tv = np.array(tail)
        dv = np.array(d)
        t_now = float((hv + dv + tv).max())
        # makespan after one change: exact when it does not shorten a critical node
        through = hv[:, None] + dur + tv[:, None]
        new_t = np.maximum(t_now, through)
        d_sep = a.sep - a.sep[a.rows, cur][:, None]
        delta = d_sep + a.w_t * (new_t - t_now)
        if a.lat_room is not None:
            lat = a.path * new_t
            if a.work:
                lat = lat + a.work * (float(dv.sum()) + (dur - dv[:, None]))
            ok = lat <= a.lat_room
        else:
            ok = np.ones_like(delta, dtype=bool)
        ok &= a.real
        ok[a.rows, cur] = False
        if a.res:
            uses = [float(g[a.rows, cur].sum()) for g, _ in a.res]
            slack = [lim - u for (_, lim), u in zip(a.res, uses, strict=True)]
            dg = [g - g[a.rows, cur][:, None] for g, _ in a.res]
            fits = np.ones_like(ok)
            for r in range(len(a.res)):
                fits &= dg[r] <= slack[r]
        else:
            fits = np.ones_like(ok)
        proposals: list[tuple[float, list[tuple[int, int]]]] = []
        single = ok & fits & (delta < -key_tol)
        vs, ms = np.nonzero(single)
        order = np.argsort(delta[vs, ms], kind="stable")[:8]
        proposals += [(float(delta[vs[j], ms[j]]), [(int(vs[j]), int(ms[j]))]) for j in order]
        # critical nodes: a shorter model may shorten the makespan (valued exactly below)
        crit = np.nonzero(hv + dv + tv >= t_now - 1e-9 * max(1.0, t_now))[0]
        for v in crit.tolist():
            for m in np.nonzero(ok[v] & fits[v] & (dur[v] < dv[v]))[0].tolist():
                gain = d_sep[v, m] - a.w_t * (dv[v] - dur[v, m])
                if gain < -key_tol:
                    proposals.append((float(gain), [(v, m)]))
        if a.res:
            # exchanges on the first budget: a move that saves but breaks it, plus the
            # cheapest move elsewhere that wins back enough of it
            g0, s0 = dg[0], slack[0]
            others = np.ones_like(ok)
            for r in range(1, len(a.res)):
                others &= dg[r] <= slack[r]
            down = ok & others & (delta < -key_tol) & (g0 > s0)
            up = ok & others & (g0 < 0)
            uv, um = np.nonzero(up)
            if len(uv) and down.any():
                gain_up = -g0[uv, um]
                cost_up = delta[uv, um]
                srt = np.argsort(-gain_up, kind="stable")
                gain_sorted = gain_up[srt]
                cost_sorted = cost_up[srt]
                # prefix minimum of the cost among moves with at least that gain
                pref = np.minimum.accumulate(cost_sorted)
                arg = np.zeros(len(srt), dtype=int)
                best_j = 0
                for j in range(len(srt)):
                    if cost_sorted[j] <= cost_sorted[best_j]:
                        best_j = j
                    arg[j] = best_j
                dvs, dms = np.nonzero(down)
                need = g0[dvs, dms] - s0
                # moves in sorted order with gain >= need: prefix up to this position
                pos = np.searchsorted(-gain_sorted, -need, side="right") - 1
                have = pos >= 0
                for jj in np.nonzero(have)[0].tolist():
                    p = int(pos[jj])
                    k = srt[arg[p]]
                    v2, m2 = int(uv[k]), int(um[k])
                    v1, m1 = int(dvs[jj]), int(dms[jj])
                    total = float(delta[v1, m1] + pref[p])
                    if v2 != v1 and total < -key_tol:
                        proposals.append((total, [(v1, m1), (v2, m2)]))
        proposals.sort(key=lambda p: (p[0], p[1]))
        applied = False
        for _, change in proposals[:24]:
            trial = list(choice)
            for v, m in change:
                trial[v] = m
            key = tuple(trial)
            if key in tried:
                continue
            tried.add(key)
            if violations(problem, trial):
                continue
            value = objective_value(problem, evaluate(problem, trial, simulate=False))
            if value < obj - key_tol * max(1.0, abs(obj)):
                choice, obj = trial, value
                applied = True
                moves += 1
                break
        if not applied:
            break
    return tuple(choice), obj
