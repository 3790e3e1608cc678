"""The profiler and the `planner profile` / `planner models` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main
from profiles import load_catalog
from profiles.energy import EstimateMeter
from profiles.profiler import (
    ProfileError,
    ProfileSettings,
    catalog_document,
    pareto_front,
    percentile,
    profile_rows,
    zoo_rows,
)
from profiles.schema import ModelProfile


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PLANNER_CACHE_DIR", str(tmp_path_factory.mktemp("zoo-cache")))
    yield
    mp.undo()


SMALL = ProfileSettings(repeats=5, warmup=1, eval_limit=20, min_time_s=0, warmup_s=0)


def quick(**kwargs: Any) -> ProfileSettings:
    """Settings without the time-based minimums (fast tests)."""
    return ProfileSettings(min_time_s=0.0, warmup_s=0.0, **kwargs)


def test_percentile_known_answers() -> None:
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert percentile([7], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def test_settings_are_validated() -> None:
    with pytest.raises(ProfileError, match="repeats"):
        ProfileSettings(repeats=0)
    with pytest.raises(ProfileError, match="limit"):
        ProfileSettings(eval_limit=0)


def test_profile_zoo_rows_measures_everything() -> None:
    rows = zoo_rows(task="Tabular Classification")[:2] + zoo_rows(model="sim-jaccard")
    profiles = profile_rows(rows, EstimateMeter(10.0), quick(repeats=5, warmup=1))
    assert [p.id for p in profiles] == ["cancer-tree-d2", "cancer-logreg", "sim-jaccard"]
    for p in profiles:
        assert 0 < p.accuracy <= 1
        assert p.latency_ms > 0 and p.energy_j >= 0 and p.memory_mb >= 0
        prov = p.provenance
        assert prov is not None and prov.source == "measured"
        assert prov.energy_source == "estimate" and prov.metric and prov.dataset
        extra = prov.model_extra or {}
        assert extra["repeats"] >= 5 and extra["watts_per_core"] == 10.0
        assert extra["latency_p95_ms"] >= extra["latency_median_ms"] == p.latency_ms
        assert extra["load_ms"] >= 0 and "numpy" in extra["libraries"]
    # on the whole test split (228 rows) the tree is the cheapest and the logistic
    # regression the more accurate: a real trade-off
    assert profiles[1].accuracy > profiles[0].accuracy


def test_user_python_adapter_is_scored_on_the_zoo_eval(tmp_path: Path) -> None:
    (tmp_path / "user_mod_b.py").write_text(
        "def always_benign(inputs):\n"
        "    assert len(inputs['features']) == 30\n"
        "    return {'label': 'benign', 'score': 1.0}\n"
    )
    rows = [
        {
            "id": "always-benign",
            "task": "Tabular Classification",
            "adapter": {
                "kind": "python",
                "target": "user_mod_b:always_benign",
                "path": str(tmp_path),
            },
        }
    ]
    [profile] = profile_rows(rows, EstimateMeter(), quick(repeats=3, warmup=0))
    from profiles.zoo.tabular import cancer_split

    _, _, _, y = cancer_split()
    assert profile.accuracy == pytest.approx(float((y == 1).mean()))  # the base rate


def test_rows_without_eval_set_use_profile_inputs_and_keep_accuracy(tmp_path: Path) -> None:
    (tmp_path / "user_mod_c.py").write_text(
        "def first_sentence(inputs):\n    return {'text': inputs['text'].split('.')[0] + '.'}\n"
    )
    row = {
        "id": "lead-1",
        "task": "Text Generation",
        "accuracy": 0.31,
        "adapter": {
            "kind": "python",
            "target": "user_mod_c:first_sentence",
            "path": str(tmp_path),
            "profile_inputs": [{"text": "One. Two. Three."}, {"text": "A. B."}],
        },
    }
    [profile] = profile_rows([row], EstimateMeter(), quick(repeats=4, warmup=1))
    assert profile.accuracy == 0.31
    assert profile.provenance is not None
    assert (profile.provenance.model_extra or {})["accuracy_measured"] is False
    del row["adapter"]["profile_inputs"]  # type: ignore[attr-defined]
    with pytest.raises(ProfileError, match="no evaluation set"):
        profile_rows([row], EstimateMeter(), SMALL)


def test_pareto_front() -> None:
    def row(i: str, acc: float, e: float, lat: float) -> ModelProfile:
        return ModelProfile(id=i, task="T", accuracy=acc, energy_j=e, latency_ms=lat)

    rows = [row("a", 0.9, 1, 1), row("b", 0.95, 2, 2), row("c", 0.85, 3, 3), row("d", 0.9, 1, 2)]
    assert [m.id for m in pareto_front(rows)] == ["a", "b"]


def test_catalog_document_records_the_zoo_version() -> None:
    from profiles.zoo import ZOO_VERSION, code_hash

    [p] = profile_rows(zoo_rows(model="sim-jaccard"), EstimateMeter(), SMALL)
    doc = catalog_document([p], zoo_only=True)
    assert doc["zoo"] == {"version": ZOO_VERSION, "code_hash": code_hash()}
    assert doc["models"][0]["id"] == "sim-jaccard"
    assert "zoo" not in catalog_document([p], zoo_only=False)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_profile_writes_a_loadable_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "cat.json"
    code, _, err = run_cli(
        [
            "profile",
            "--task",
            "Sentence Similarity",
            "--model",
            "sim-jaccard",
            "--repeats",
            "3",
            "--min-time",
            "0",
            "--eval-limit",
            "10",
            "--energy",
            "estimate",
            "--watts-per-core",
            "12",
            "-o",
            str(out_file),
        ],
        capsys,
    )
    assert code == 0, err
    assert "wrote 1 profiles" in err
    cat = load_catalog(out_file)
    [row] = cat.models
    assert row.id == "sim-jaccard" and row.provenance is not None
    assert (row.provenance.model_extra or {})["watts_per_core"] == 12.0
    code, out, _ = run_cli(["models", "--catalog", str(out_file), "--json"], capsys)
    assert code == 0 and json.loads(out)["models"][0]["id"] == "sim-jaccard"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "--model", "nope"], "no candidate matches"),
        (["profile", "--model", "sim-jaccard", "--repeats", "0"], "repeats must be >= 1"),
        (["profile", "--model", "sim-jaccard", "--energy", "rapl"], "--energy rapl"),
        (["profile", "--model", "sim-jaccard", "--energy", "magic"], "unknown energy meter"),
        (["models", "--task", "Text-to-Video"], "no model for task"),
        (["models", "--catalog", "/no/such/catalog.json"], "no such file"),
    ],
)
def test_cli_errors_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("profiles.energy.POWERCAP_ROOT", tmp_path)  # no RAPL anywhere
    if "rapl" in args:
        args = [*args, "-o", str(tmp_path / "x.json")]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_cli_profile_user_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "user_mod_d.py").write_text(
        "def sim(inputs):\n"
        "    return {'similarity': float(len(set(inputs['text1']) & set(inputs['text2'])))}\n"
    )
    catalog: dict[str, Any] = {
        "models": [
            {
                "id": "char-overlap",
                "task": "Sentence Similarity",
                "accuracy": 0.5,
                "latency_ms": 1,
                "energy_j": 1,
                "adapter": {"kind": "python", "target": "user_mod_d:sim", "path": "."},
            },
        ]
    }
    (tmp_path / "mine.json").write_text(json.dumps(catalog))
    code, out, err = run_cli(
        [
            "profile",
            "--catalog",
            str(tmp_path / "mine.json"),
            "--repeats",
            "2",
            "--min-time",
            "0",
            "--eval-limit",
            "10",
        ],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["models"][0]["id"] == "char-overlap" and "zoo" not in doc
    assert doc["models"][0]["provenance"]["eval_size"] == 10
    (tmp_path / "bad.json").write_text(json.dumps({"models": [{"id": "x", "task": "T"}]}))
    code, _, err = run_cli(["profile", "--catalog", str(tmp_path / "bad.json")], capsys)
    assert code == 2 and "has no 'adapter'" in err


def test_command_line_models_count_their_child_processes_energy() -> None:
    import sys

    burn = "import sys; x = sum(range(2_000_000)); print(sys.argv[1])"
    row = {
        "id": "echo-tool",
        "task": "Text Generation",
        "accuracy": 0.5,
        "adapter": {
            "kind": "subprocess",
            "command": [sys.executable, "-c", burn, "{text}"],
            "profile_inputs": [{"text": "hello"}],
        },
    }
    meter = EstimateMeter(watts_per_core=10.0)
    [profile] = profile_rows([row], meter, quick(repeats=3, warmup=1, rounds=1, isolated=False))
    extra = profile.provenance.model_extra or {} if profile.provenance else {}
    child_ms = extra["child_cpu_ms_per_call"]
    assert child_ms > 5  # the child's own CPU time, which this process's clock misses
    assert profile.energy_j >= child_ms / 1e3 * 10.0
    assert "child processes" in (profile.provenance.energy_note or "")  # type: ignore[union-attr]


def test_cli_models_shows_availability_and_install_commands(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda p: None if p == "apertium" else real(p))
    code, out, _ = run_cli(["models", "--task", "Translation"], capsys)
    assert code == 0 and "available" in out and "mt-apertium" in out
    assert (
        "not available here: mt-apertium needs program 'apertium'; install: apt-get install " in out
    )
    code, out, _ = run_cli(["models", "--json"], capsys)
    assert json.loads(out)["unavailable"]["mt-apertium"].startswith("needs program 'apertium'")


def test_cli_models_lists_the_shipped_zoo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["models", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)["models"]
    assert len({r["task"] for r in rows}) >= 12
    code, out, _ = run_cli(["models", "--task", "Image-to-Image"], capsys)
    assert code == 0 and "denoise-gaussian" in out and "measured on" in out


def test_min_time_extends_the_timed_calls() -> None:
    settings = ProfileSettings(repeats=5, warmup=0, eval_limit=10, min_time_s=0.05, warmup_s=0)
    [p] = profile_rows(zoo_rows(model="sim-jaccard"), EstimateMeter(), settings)
    assert p.provenance is not None
    extra = p.provenance.model_extra or {}
    assert extra["repeats"] > 5  # a jaccard call takes microseconds: 50 ms needs many
    assert extra["repeats"] * extra["latency_min_ms"] <= 50 + 5  # stopped soon after 50 ms
    with pytest.raises(ProfileError, match="max_repeats"):
        ProfileSettings(repeats=10, max_repeats=5)


def test_isolated_timing_sweeps_and_pauses_before_every_timed_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import profiles.profiler as profiler

    calls: list[str] = []
    real = profiler._measure_call

    def spy_call(runner: Any, task_eval: Any) -> Any:
        inner = real(runner, task_eval)

        def call(item: Any) -> Any:
            calls.append("call")
            return inner(item)

        return call

    class SpyEvictor:
        def __init__(self, evict_mb: float, gap_s: float) -> None:
            assert (evict_mb, gap_s) == (16.0, 0.01)

        def __call__(self) -> None:
            calls.append("evict")

    monkeypatch.setattr(profiler, "_measure_call", spy_call)
    monkeypatch.setattr(profiler, "CacheEvictor", SpyEvictor)
    settings = ProfileSettings(repeats=6, warmup=0, eval_limit=4, min_time_s=0, warmup_s=0)
    settings = ProfileSettings(
        **{**settings.__dict__, "warm_calls": 3, "rounds": 2, "probe_calls": 4}
    )
    (row,) = profile_rows(zoo_rows(model="sim-jaccard"), EstimateMeter(10.0), settings)
    timed = calls[calls.index("evict") :]  # after the warm-up and the quality pass
    # each round: evict-call pairs for the isolated calls, back-to-back warm calls, then the
    # round's share of the speed probe (isolated too)
    one_round = ["evict", "call"] * 3 + ["call"] * 2 + ["evict", "call"] * 2
    assert timed == one_round * 2
    assert row.provenance is not None
    extra = row.provenance.model_extra or {}
    assert extra["repeats"] == 6
    assert "isolated calls" in extra["latency_timing"]
    assert extra["latency_warm_median_ms"] > 0
    assert extra["latency_probe_ms"] > 0
    assert "median of 4 isolated calls on the first 5 evaluation inputs" in extra["latency_probe"]


def test_speed_probe_repeats_the_profilers_probe_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    import profiles.profiler as profiler
    from profiles.adapters import load_adapter
    from profiles.zoo import task_eval

    seen: list[Any] = []
    real = profiler._measure_call

    def spy_call(runner: Any, evals: Any) -> Any:
        inner = real(runner, evals)

        def call(item: Any) -> Any:
            seen.append(item)
            return inner(item)

        return call

    monkeypatch.setattr(profiler, "_measure_call", spy_call)
    (row,) = zoo_rows(model="sim-jaccard")
    evals = task_eval(row["task"], 10)
    runner = load_adapter(row, fresh=True)
    runner.prepare()
    runner.load()
    settings = quick(warmup=2, probe_items=3, gap_s=0.0, evict_mb=1.0)
    ms = profiler.speed_probe(runner, row, evals, settings, calls=7)
    assert ms > 0
    first = list(evals.inputs[:3])
    # two warm-up calls, then 7 timed calls cycling through the first 3 inputs
    assert seen == [first[0], first[1], *(first * 3)[:7]]
    with pytest.raises(ProfileError, match="at least 1 call"):
        profiler.speed_probe(runner, row, evals, settings, calls=0)


def test_back_to_back_timing_has_no_sweeps() -> None:
    settings = quick(repeats=5, warmup=0, eval_limit=5, isolated=False)
    (row,) = profile_rows(zoo_rows(model="sim-jaccard"), EstimateMeter(10.0), settings)
    assert row.provenance is not None
    extra = row.provenance.model_extra or {}
    assert extra["latency_timing"] == "back-to-back calls"
    assert "latency_warm_median_ms" not in extra
    assert "latency_probe_ms" not in extra  # no probe to compare with isolated run calls


_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "retain":
    from profiles.hardware import retain_freed_memory
    assert retain_freed_memory()
def call():  # a model's call: three 8 MB activations alive at once, then freed
    bufs = [np.full(2**21, 1.0, dtype=np.float32) for _ in range(3)]
    return sum(float(b[-1]) for b in bufs)
call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    call()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_retained_memory_serves_repeated_large_buffers_without_page_faults() -> None:
    import platform
    import subprocess
    import sys

    from profiles.hardware import retain_freed_memory

    if platform.libc_ver()[0] != "glibc":
        assert retain_freed_memory() is False
        return
    assert retain_freed_memory() is True and retain_freed_memory() is True  # idempotent

    def faults(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True
        )
        return int(run.stdout.strip())

    # glibc's default gives the freed heap back, so every call faults its buffers in again
    # (about 10,500 faults here, 2026-11-28); retained, the buffers are reused (0)
    default, retained = faults("default"), faults("retain")
    assert default > 1000, default
    assert retained * 20 < default, (retained, default)


def test_memory_of_each_model_counts_its_own_buffers_after_others_freed_theirs() -> None:
    # with freed memory retained, a model could reuse what the one before it freed and
    # measure ~0 MB; the profiler gives freed memory back before each baseline
    rows = [r for r in zoo_rows(task="Image-to-Image") if r["id"] != "denoise-cnn-3x16"]
    profiles = profile_rows(rows, EstimateMeter(), quick(repeats=3, warmup=1, rounds=1))
    assert [p.id for p in profiles] == ["denoise-gaussian", "denoise-median3", "denoise-wiener5"]
    for p in profiles:
        assert p.memory_mb > 1.0, (p.id, p.memory_mb)  # 256x256 float images: ~0.25 MB each


def test_profiling_runs_on_one_core_and_gives_the_others_back() -> None:
    import os

    from profiles.profiler import on_one_core

    if len(getattr(os, "sched_getaffinity", lambda _: set())(0)) < 2:
        pytest.skip("needs 2 CPU cores and CPU affinity")
    before = os.sched_getaffinity(0)
    with on_one_core(True):
        assert len(os.sched_getaffinity(0)) == 1  # like each of the run's worker processes
    assert os.sched_getaffinity(0) == before
    with on_one_core(False):
        assert os.sched_getaffinity(0) == before
    with pytest.raises(RuntimeError), on_one_core(True):
        raise RuntimeError("a failing profile")
    assert os.sched_getaffinity(0) == before  # restored on errors too
