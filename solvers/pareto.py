"""Exact Pareto dynamic programme for the additive relaxation of the selection problem.

The **additive relaxation** keeps the objective's separable part (energy, cost, and the
work term ``omega * W`` of the latency bound, the whole latency when sequential) and every
additive budget (energy, cost, accuracy as ``sum -log a``, sequential latency), and drops
the non-additive couplings: the critical path, the shared-memory budget and the one-off
loads of cold models (all >= 0). Its optimum is therefore a lower bound on the full
problem; a relaxed optimum that also meets the dropped budgets is optimal for the full
problem only when the objective has neither a critical-path term nor a cold load, so that
both objectives agree.

The programme walks the nodes in order keeping, after each node, the partial plans that
are Pareto-optimal in (separable cost, budget use). That is exact when at most one
additive budget remains after two exact simplifications: a budget no plan can break is
dropped, and a budget proportional to the objective (energy budget while minimising
energy alone) becomes a cap on the objective. States that cannot fit the budgets, or
whose cost plus a Lagrangian bound on the remaining nodes cannot beat a known plan, are
discarded (both exact). Everything is vectorised with numpy.

`suffix_fronts` runs it backwards and keeps every layer: the branch-and-bound of
`solvers.bnb` reads from them the exact cheapest relaxed completion of a partial plan.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from solvers.model import SelectionProblem, accuracy_floor, budget_limit

#: States kept per layer before the programme gives up (memory guard).
MAX_STATES = 400_000
#: States kept over all layers before the programme gives up (memory guard).
MAX_TOTAL_STATES = 4_000_000
_LOOSE = 1e-9


def _loose(limit: float) -> float:
    return budget_limit(limit, _LOOSE)


@dataclass(frozen=True)
class Relaxation:
    """The additive relaxation in array form (padding candidates have cost +inf)."""

    sep: np.ndarray  # (n, width) objective coefficient
    g: np.ndarray | None  # (n, width) the one remaining budget's coefficient, or None
    g_limit: float  # its loosened limit
    cap: float  # loosened cap on the separable cost (from proportional budgets)
    widths: tuple[int, ...]


def additive_relaxation(
    problem: SelectionProblem, separable_part: bool = False
) -> Relaxation | None:
    """The relaxation of the module docstring, or None when more than one additive budget
    remains (the 2-D programme would not be exact) or the objective has a makespan term
    (unless ``separable_part``: then the relaxation bounds only the separable part of the
    objective, which is what the branch-and-bound adds its makespan bound to)."""
    import numpy as np

    w = problem.weights
    shape = problem.shape
    if shape.path > 0 and w.latency > 0 and not separable_part:
        return None
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    n = problem.n_nodes
    width = max((len(c) for c in problem.candidates), default=1)
    sep = np.full((n, width), np.inf)
    floors = problem.node_min_accuracy
    b = problem.budgets
    resources: list[tuple[str, float]] = []
    if b.energy_j is not None:
        resources.append(("energy_j", _loose(b.energy_j)))
    if b.cost_usd is not None:
        resources.append(("cost_usd", _loose(b.cost_usd)))
    if b.min_accuracy is not None:
        resources.append(
            (
                "acc",
                -accuracy_floor(b.min_accuracy, _LOOSE),
            )
        )
    if b.latency_ms is not None and shape.path == 0:
        # the latency bound is S + loads + W: W <= B_L - S (loads >= 0 are relaxed away)
        resources.append(("latency_ms", _loose(b.latency_ms) - problem.startup_ms))
    # one (node, candidate, metric) table; padding rows are zeros
    flat: list[float] = []
    dispatch = problem.dispatch_ms
    for cs in problem.candidates:
        for c in cs:
            flat += (c.energy_j, c.cost_usd, c.latency_ms + dispatch, c.accuracy)
        flat += [0.0] * (4 * (width - len(cs)))
    metrics = np.array(flat, dtype=float).reshape(n, width, 4)
    energy, cost, latency, accuracy = (metrics[:, :, j] for j in range(4))
    real = np.arange(width)[None, :] < np.array([len(c) for c in problem.candidates])[:, None]
    if floors is not None:
        floor_arr = np.array([f if f is not None else 0.0 for f in floors])[:, None]
        real &= accuracy >= floor_arr
    part = w.energy * energy / e_ref + w.cost * cost / c_ref
    if shape.work:  # the work term omega * W of the latency bound is separable
        part = part + w.latency * shape.work * latency / l_ref
    sep = np.where(real, part, np.inf)
    with np.errstate(divide="ignore"):
        neg_log = -np.log(np.where(real, accuracy, 1.0))
    by_name = {"energy_j": energy, "cost_usd": cost, "latency_ms": latency, "acc": neg_log}
    coefs = {name: np.where(real, by_name[name], 0.0) for name, _ in resources}
    finite = np.isfinite(sep)
    if not finite.any(axis=1).all():
        # a node has no candidate at all: the relaxation (and the problem) is infeasible
        return Relaxation(sep, None, math.inf, math.inf, tuple(len(c) for c in problem.candidates))
    cap = math.inf
    left: list[tuple[np.ndarray, float]] = []
    for name, limit in resources:
        g = coefs[name]
        worst = float(np.where(finite, g, -np.inf).max(axis=1).sum())
        if worst <= limit - _LOOSE * max(1.0, abs(limit)):
            continue  # no plan can break it
        ratio = _proportional(sep, g, finite)
        if ratio is not None:
            cap = min(cap, limit / ratio)
            continue
        left.append((g, limit))
    if len(left) > 1:
        return None
    g_arr, g_limit = left[0] if left else (None, math.inf)
    return Relaxation(sep, g_arr, g_limit, cap, tuple(len(c) for c in problem.candidates))


def _proportional(sep: np.ndarray, g: np.ndarray, finite: np.ndarray) -> float | None:
    """r with g == r * sep on every real candidate (r > 0), else None."""
    import numpy as np

    s, gg = sep[finite], g[finite]
    if not (s > 0).all():
        return None
    ratios = gg / s
    r = float(ratios[0])
    if r <= 0:
        return None
    if math.isfinite(r) and np.isfinite(ratios).all():
        # `np.allclose(ratios, r, rtol=1e-12, atol=0)` on finite values, without its checks
        close = bool((np.abs(ratios - r) <= 1e-12 * abs(r)).all())
    else:
        close = np.allclose(ratios, r, rtol=1e-12, atol=0.0)
    return r if close else None


@dataclass(frozen=True)
class DpResult:
    """``choice`` is the relaxed optimum (None: no relaxed plan beats ``cutoff``)."""

    choice: tuple[int, ...] | None
    value: float | None
    complete: bool  # False when the state guard stopped the programme


class _Bound:
    """Lagrangian bound on the cost of nodes ``d..n-1`` given the budget left."""

    def __init__(self, rel: Relaxation, order: np.ndarray) -> None:
        import numpy as np

        sep = rel.sep[order]
        n = len(order)
        if rel.g is None:
            self.lams = np.zeros(1)
            mins = np.where(np.isfinite(sep), sep, np.inf).min(axis=1)[None, :]
            self.g_min = np.zeros(n + 1)
        else:
            g = rel.g[order]
            fin = np.isfinite(sep)
            sc = np.where(fin, sep, np.nan)
            gc = np.where(fin, g, np.nan)
            spread_c = float(np.nansum(np.nanmax(sc, 1) - np.nanmin(sc, 1)))
            spread_g = float(np.nansum(np.nanmax(gc, 1) - np.nanmin(gc, 1)))
            price = spread_c / spread_g if spread_g > 0 and spread_c > 0 else 0.0
            self.lams = np.array([0.0, *(price * 2.0 ** (j / 4.0) for j in range(-24, 25))])
            vals = sep[None, :, :] + self.lams[:, None, None] * np.where(fin, g, 0.0)[None]
            mins = vals.min(axis=2)
            gmin = np.where(fin, g, np.inf).min(axis=1)
            self.g_min = np.concatenate([np.cumsum(gmin[::-1])[::-1], [0.0]])
        self.table = np.concatenate(
            [np.cumsum(mins[:, ::-1], axis=1)[:, ::-1], np.zeros((len(self.lams), 1))], axis=1
        )  # (J, n+1)
        self.s_min = self.table[0]

    def __call__(self, d: int, slack: np.ndarray) -> np.ndarray:
        import numpy as np

        if len(self.lams) == 1:
            return np.full(slack.shape, self.table[0, d])
        return (self.table[:, d][None, :] - slack[:, None] * self.lams[None, :]).max(axis=1)


def _forward(
    rel: Relaxation,
    order: np.ndarray,
    cutoff: float,
    max_states: int = MAX_STATES,
    deadline: float = math.inf,
    stop: int | None = None,
    track: bool = True,
) -> tuple[list[tuple[np.ndarray, ...]], bool]:
    """Pareto layers along ``order``; layer d holds the states after ``order[:d]`` as
    (cost ascending, use descending, parent state, candidate). ``stop``: build layers
    ``0..stop`` only (default: all ``n + 1``). ``track=False``: the values only, (cost,
    use), for callers that never walk back to the choices (fewer array operations).

    Each layer is the Pareto front of every (state, candidate) pair. The pairs are laid
    out candidate-major, so they form one cost-sorted run per candidate (the states are
    sorted by cost); a stable sort merges the runs cheaply, and among pairs of equal cost
    only the least use survives, as a sort by (cost, use) would keep."""
    import numpy as np

    sep = rel.sep[order]
    g = rel.g[order] if rel.g is not None else np.zeros_like(sep)
    n = len(order)
    finite = np.isfinite(sep)
    g_min = np.where(finite, g, np.inf).min(axis=1) if n else np.zeros(0)
    s_min = sep.min(axis=1) if n else np.zeros(0)
    room_g = rel.g_limit - np.concatenate([np.cumsum(g_min[::-1])[::-1], [0.0]])
    room_s = rel.cap - np.concatenate([np.cumsum(s_min[::-1])[::-1], [0.0]])
    bound = _Bound(rel, order) if math.isfinite(cutoff) else None
    tol = 1e-12 * max(1.0, abs(cutoff)) if math.isfinite(cutoff) else 0.0
    s = np.zeros(1)
    gg = np.zeros(1)
    layers: list[tuple[np.ndarray, ...]] = [
        (s, gg, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    ]
    total = 0
    last = n if stop is None else min(n, stop)
    # per layer: its real columns and their coefficients, as column vectors
    cols_of = [np.flatnonzero(finite[d]) for d in range(last)]
    sep_of = [sep[d, cols][:, None] for d, cols in enumerate(cols_of)]
    g_of = [g[d, cols][:, None] for d, cols in enumerate(cols_of)]
    rooms = list(zip(room_g[1:].tolist(), room_s[1:].tolist(), strict=True))
    if not track:
        return _forward_values(
            layers, sep_of, g_of, rooms, bound, rel.g_limit, cutoff - tol, max_states, deadline
        )
    for d in range(last):
        cols = cols_of[d]
        m = len(s)
        # pair p = column j * m + state k: sep[d, cols[j]] + s[k], sorted in k for each j
        ns = (sep_of[d] + s).ravel()
        ng = (g_of[d] + gg).ravel()
        ok = (ng <= rooms[d][0]) & (ns <= rooms[d][1])
        if bound is not None:
            ok &= ns + bound(d + 1, rel.g_limit - ng) < cutoff - tol
        idx = np.flatnonzero(ok)
        if len(idx) > 1:
            idx = idx[np.argsort(ns[idx], kind="stable")]
            use = ng[idx]
            keep = np.empty(len(idx), dtype=bool)
            keep[0] = True
            keep[1:] = use[1:] < np.minimum.accumulate(use)[:-1]
            idx = idx[keep]
            if len(idx) > 1:
                # kept uses strictly decrease: of kept pairs of equal cost, the last has
                # the least use and dominates the others
                cost = ns[idx]
                keep = np.empty(len(idx), dtype=bool)
                keep[-1] = True
                keep[:-1] = cost[:-1] != cost[1:]
                idx = idx[keep]
        total += len(idx)
        if len(idx) > max_states or total > MAX_TOTAL_STATES:
            return layers, False
        if deadline < math.inf and time.perf_counter() > deadline:
            return layers, False
        s, gg = ns[idx], ng[idx]
        layers.append((s, gg, idx % m, cols[idx // m]))
        if len(s) == 0:
            break
    return layers, True


def _forward_values(
    layers: list[tuple[np.ndarray, ...]],
    sep_of: list[np.ndarray],
    g_of: list[np.ndarray],
    rooms: list[tuple[float, float]],
    bound: _Bound | None,
    g_limit: float,
    below: float,
    max_states: int,
    deadline: float,
) -> tuple[list[tuple[np.ndarray, ...]], bool]:
    """`_forward`'s loop on the values alone: the same states in the same order (the
    pairs that pass are compressed in place of their indices), without parent and
    candidate, which ``track=False`` callers never read."""
    import numpy as np

    s, gg = layers[0][0], layers[0][1]
    total = 0
    for d in range(len(sep_of)):
        ns = (sep_of[d] + s).ravel()
        ng = (g_of[d] + gg).ravel()
        ok = (ng <= rooms[d][0]) & (ns <= rooms[d][1])
        if bound is not None:
            ok &= ns + bound(d + 1, g_limit - ng) < below
        if not ok.all():
            ns, ng = ns[ok], ng[ok]
        if len(ns) > 1:
            o = ns.argsort(kind="stable")
            ns, ng = ns[o], ng[o]
            keep = np.empty(len(ns), dtype=bool)
            keep[0] = True
            np.less(ng[1:], np.minimum.accumulate(ng)[:-1], out=keep[1:])
            ns, ng = ns[keep], ng[keep]
            if len(ns) > 1:
                same = ns[1:] == ns[:-1]  # equal costs: the last (least use) dominates
                if same.any():
                    keep = np.ones(len(ns), dtype=bool)
                    keep[:-1] = ~same
                    ns, ng = ns[keep], ng[keep]
        total += len(ns)
        if len(ns) > max_states or total > MAX_TOTAL_STATES:
            return layers, False
        if deadline < math.inf and time.perf_counter() > deadline:
            return layers, False
        s, gg = ns, ng
        layers.append((s, gg))
        if len(s) == 0:
            break
    return layers, True


def solve_relaxation(rel: Relaxation, cutoff: float = math.inf) -> DpResult:
    """Relaxed optimum (ties: the first state in (cost, budget use) order)."""
    import numpy as np

    n = rel.sep.shape[0]
    order = np.arange(n)
    layers, complete = _forward(rel, order, cutoff)
    if not complete:
        return DpResult(None, None, False)
    if len(layers) < n + 1 or len(layers[n][0]) == 0:
        return DpResult(None, None, True)
    s, _, parent, pick = layers[n]
    k = int(np.argmin(s))  # sorted by cost, so the first minimum
    value = float(s[k])
    choice = [0] * n
    for d in range(n, 0, -1):
        _, _, parent, pick = layers[d]
        choice[d - 1] = int(pick[k])
        k = int(parent[k])
    return DpResult(tuple(choice), value, True)


def suffix_fronts(
    rel: Relaxation,
    cutoff: float = math.inf,
    max_states: int = MAX_STATES,
    deadline: float = math.inf,
    first: int = 0,
) -> list[tuple[list[float], list[float]]] | None:
    """fronts[d] = (use ascending, cost descending) of the Pareto states of nodes d..n-1
    whose cost plus a bound on nodes 0..d-1 is below ``cutoff``; fronts[n] = ([0], [0]).
    The cheapest completion of a prefix with budget ``room`` left is the state with the
    largest use <= room. None when the state guard or ``deadline`` stopped the programme.
    Only fronts[first..n] are built (the others are left empty): a search that fixes node
    0 first never reads fronts[0], the largest."""
    import numpy as np

    n = rel.sep.shape[0]
    layers, ok = _forward(
        rel, np.arange(n)[::-1].copy(), cutoff, max_states, deadline, stop=n - first, track=False
    )
    if not ok:
        return None
    fronts: list[tuple[list[float], list[float]]] = [([], []) for _ in range(n + 1)]
    for k, (s, g, *_) in enumerate(layers):  # layer k: the last k nodes
        fronts[n - k] = (g[::-1].tolist(), s[::-1].tolist())
    return fronts


def lagrangian_bound(rel: Relaxation) -> float:
    """A lower bound on the relaxed optimum: max over a grid of ``lam >= 0`` of
    ``sum_v min_i (cost + lam * use) - lam * limit``, capped below by nothing else."""
    import numpy as np

    n = rel.sep.shape[0]
    if n == 0:
        return 0.0
    bound = _Bound(rel, np.arange(n))
    limit = rel.g_limit if math.isfinite(rel.g_limit) else 0.0
    return float((bound.table[:, 0] - bound.lams * limit).max())
