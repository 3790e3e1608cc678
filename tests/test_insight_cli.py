"""The insight commands end to end: solve (explanation, --alternatives), pareto, whatif,
alternatives, diff, report (HTML, rendered in headless Chromium when installed)."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from planner.cli import main
from planner.problem import load_problem
from planner.solve import Compiled
from solvers import evaluate, violations

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "insight" / "photo_assistant.json"
INFEASIBLE = ["--min-accuracy", "0.25", "--energy-budget", "80", "--latency-budget", "1500"]
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_solve_explains_infeasibility(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "solve", EXAMPLE, *INFEASIBLE, "--json")
    assert code == 3
    plan = json.loads(out)
    assert plan["status"] == "infeasible"
    mins = plan["explanation"]["min_budgets"]
    assert set(mins) == {"energy_j", "latency_ms", "min_accuracy", "memory_mb"}
    # brute force on the 243 plans of the example
    sel = Compiled(
        load_problem(EXAMPLE).with_overrides(
            budgets={"min_accuracy": 0.25, "energy_j": 80.0, "latency_ms": 1500.0}
        )
    ).selection
    from dataclasses import replace

    relaxed = replace(sel, budgets=replace(sel.budgets, energy_j=None))
    energies = [
        evaluate(relaxed, c).energy_j
        for c in itertools.product(*(range(len(c)) for c in sel.candidates))
        if not violations(relaxed, c)
    ]
    assert math.isclose(mins["energy_j"], min(energies), rel_tol=1e-9)
    assert mins["latency_ms"] is None and mins["memory_mb"] is None
    assert mins["min_accuracy"] < 0.25
    sentence = plan["explanation"]["sentences"]["energy_j"]
    assert "needs at least 107 J; your energy budget is 80 J" in sentence
    assert "cannot help" in plan["explanation"]["sentences"]["latency_ms"]
    code, out, _ = run(capsys, "solve", EXAMPLE, *INFEASIBLE)
    assert code == 3
    assert "raise energy_j to 107 J" in out


def test_feasible_solve_has_no_explanation_and_lists_alternatives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "solve", EXAMPLE, "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["explanation"] is None and plan["alternatives"] is None
    code, out, _ = run(
        capsys, "solve", EXAMPLE, "--json", "--alternatives", "2", "--min-accuracy", "0.15"
    )
    plan = json.loads(out)
    alts = plan["alternatives"]
    assert [a["rank"] for a in alts] == [2, 3]
    assert plan["objective"] <= alts[0]["objective"] <= alts[1]["objective"]
    assert all(a["assignment"] != plan["assignment"] and a["changes"] for a in alts)
    assert alts[0]["extra_objective"] == pytest.approx(alts[0]["objective"] - plan["objective"])
    code, out, _ = run(
        capsys, "alternatives", EXAMPLE, "-k", "2", "--min-accuracy", "0.15", "--json"
    )
    assert code == 0 and json.loads(out) == alts


def test_pareto_cli_outputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv_path, png = tmp_path / "front.csv", tmp_path / "front.png"
    code, out, _ = run(
        capsys,
        "pareto",
        EXAMPLE,
        "--x",
        "energy",
        "--y",
        "accuracy",
        "--json",
        "--csv",
        csv_path,
        "--png",
        png,
    )
    assert code == 0
    front = json.loads(out)
    points = front["points"]
    assert front["complete"] and len(points) >= 5
    assert set(points[0]) >= {"energy_j", "latency_ms", "accuracy", "memory_mb", "assignment"}
    energies = [p["energy_j"] for p in points]
    accuracies = [p["accuracy"] for p in points]
    assert energies == sorted(energies) and accuracies == sorted(accuracies)
    assert "energy_j" not in front["kept_budgets"] and "min_accuracy" not in front["kept_budgets"]
    assert front["kept_budgets"]["latency_ms"] == 700.0
    assert all(p["latency_ms"] <= 700.0 for p in points)
    chosen = front["chosen"]
    assert chosen is not None and chosen["accuracy"] >= 0.2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = csv_path.read_text().splitlines()
    assert len(rows) == len(points) + 1 and rows[0].startswith("energy_j,latency_ms")
    code, out, _ = run(
        capsys, "pareto", EXAMPLE, "--x", "latency", "--y", "energy", "--points", "3", "--json"
    )
    sampled = json.loads(out)
    assert not sampled["complete"] and 1 <= len(sampled["points"]) <= 3
    code, out, _ = run(capsys, "pareto", EXAMPLE, "--latency-budget", "300", "--json")
    tight = json.loads(out)
    assert tight["kept_budgets"]["latency_ms"] == 300.0
    assert tight["points"] and all(p["latency_ms"] <= 300.0 for p in tight["points"])
    assert len(tight["points"]) < len(points)


@pytest.mark.parametrize(
    "args", [["--x", "speed"], ["--x", "energy", "--y", "energy"], ["--points", "1"]]
)
def test_pareto_bad_input_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(capsys, "pareto", EXAMPLE, *args)
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_whatif_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "whatif", EXAMPLE, "--json", "--factors", "0.9,1.1")
    assert code == 0
    report = json.loads(out)
    binding = {b["name"]: b["binding"] for b in report["budgets"]}
    assert binding == {
        "energy_j": False,
        "latency_ms": False,
        "min_accuracy": True,
        "memory_mb": False,
    }
    acc = next(b for b in report["budgets"] if b["name"] == "min_accuracy")
    tighter = next(s for s in acc["sweep"] if s["factor"] == 1.1)
    looser = next(s for s in acc["sweep"] if s["factor"] == 0.9)
    assert tighter["status"] == "infeasible"
    assert looser["extra_objective"] < 0 and looser["changes"]
    assert len(report["runner_ups"]) == 5
    code, out, _ = run(capsys, "whatif", EXAMPLE)
    assert code == 0 and "runner-up" in out
    code, _, err = run(capsys, "whatif", EXAMPLE, "--factors", "0,x")
    assert code == 2 and "--factors" in err


def test_diff_plans_and_reports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run(capsys, "solve", EXAMPLE, "-o", a)[0] == 0
    assert run(capsys, "solve", EXAMPLE, "--min-accuracy", "0.15", "-o", b)[0] == 0
    code, out, _ = run(capsys, "diff", a, a, "--json", "--exit-code")
    assert code == 0 and json.loads(out)["same"]
    code, out, _ = run(capsys, "diff", a, b, "--json", "--exit-code")
    assert code == 1
    d = json.loads(out)
    assert not d["same"] and d["assignment"]
    energy = next(t for t in d["totals"] if t["key"] == "energy_j")
    pa, pb = json.loads(a.read_text()), json.loads(b.read_text())
    assert energy["delta"] == pytest.approx(pb["totals"]["energy_j"] - pa["totals"]["energy_j"])
    changed = {c["node"] for c in d["assignment"]}
    assert changed == {n for n in pa["assignment"] if pa["assignment"][n] != pb["assignment"][n]}
    assert changed <= set(d["nodes"])  # schedules of other nodes may move too
    assert any(v["key"] == "model" for v in d["nodes"][next(iter(changed))])
    # run reports: nested totals and measured values per node
    ra, rb = tmp_path / "ra.json", tmp_path / "rb.json"
    ra.write_text(
        json.dumps(
            {
                "format": "report/v1",
                "assignment": {"n1": "m"},
                "totals": {"measured": {"energy_j": 2.0}},
                "nodes": [{"id": "n1", "model": "m", "measured": {"latency_ms": 5}}],
            }
        )
    )
    rb.write_text(
        json.dumps(
            {
                "format": "report/v1",
                "assignment": {"n1": "m"},
                "totals": {"measured": {"energy_j": 3.0}},
                "nodes": [{"id": "n1", "model": "m", "measured": {"latency_ms": 4}}],
            }
        )
    )
    code, out, _ = run(capsys, "diff", ra, rb, "--json")
    d = json.loads(out)
    assert d["totals"] == [
        {"key": "measured.energy_j", "a": 2.0, "b": 3.0, "delta": 1.0, "pct": 50.0}
    ]
    assert d["nodes"]["n1"][0]["key"] == "measured.latency_ms"
    code, out, _ = run(capsys, "diff", ra, rb)
    assert code == 0 and "measured.energy_j" in out
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, _, err = run(capsys, "diff", bad, ra)
    assert code == 2 and "not a plan or report" in err


# --------------------------------------------------------------------------- HTML report

EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""",
    re.IGNORECASE,
)


def make_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *solve_args: str
) -> tuple[Path, dict]:
    plan_path, html_path = tmp_path / "plan.json", tmp_path / "report.html"
    run(capsys, "solve", EXAMPLE, "-o", plan_path, *solve_args)
    code, _, err = run(capsys, "report", plan_path, "-o", html_path)
    assert code == 0, err
    return html_path, json.loads(plan_path.read_text())


def test_report_is_self_contained_and_shows_every_node(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html_path, plan = make_report(capsys, tmp_path, "--alternatives", "2")
    page = html_path.read_text()
    assert not EXTERNAL.search(page), "the report must not load anything from the network"
    assert page.count("<script") == 1 and "src=" not in page.split("<script")[1][:20]
    for node in plan["nodes"]:
        assert '<g class="node' in page and f'data-node="{node["id"]}"' in page
        assert f'id="card-{node["id"]}"' in page
        for cand in node["candidates"]:
            assert f"<td>{cand['model']}</td>" in page
    for node_id in plan["critical_path"]:
        assert re.search(rf'<g class="node critical" data-node="{node_id}"', page)
    assert 'src="data:image/png;base64,' in page
    assert "<h2>Alternatives</h2>" in page


def test_report_of_an_infeasible_plan_and_of_a_run_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html_path, _ = make_report(capsys, tmp_path, *INFEASIBLE)
    page = html_path.read_text()
    assert "Why there is no plan" in page and "needs at least 107 J" in page
    # a run report: the plan plus measured metrics per node and in total
    _, plan = make_report(capsys, tmp_path)
    report = {
        "format": "report/v1",
        "plan": plan,
        "nodes": [
            {"id": n["id"], "measured": {"latency_ms": 12.5, "energy_j": 1.25}}
            for n in plan["nodes"]
        ],
        "totals": {"measured": {"energy_j": 40.0, "latency_ms": 300.0}},
    }
    src, out = tmp_path / "run.json", tmp_path / "run.html"
    src.write_text(json.dumps(report))
    code, _, err = run(capsys, "report", src, "-o", out, "--no-pareto")
    assert code == 0, err
    page = out.read_text()
    assert page.count("meas 12.5 ms · 1.25 J") == len(plan["nodes"])
    assert "skipped (--no-pareto)" in page
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"plan": {"status": "optimal"}}))
    code, _, err = run(capsys, "report", bad, "-o", tmp_path / "x.html")
    assert code == 2 and "'plan'" in err


def chromium_load(url: str, profile: Path) -> tuple[str, list[str]]:
    """Load ``url`` in headless Chromium; return the DOM after scripts ran and the console
    messages Chromium logged (errors, warnings, logs)."""
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html_path, plan = make_report(capsys, tmp_path, "--alternatives", "2")
    dom, console = chromium_load(html_path.as_uri(), tmp_path / "profile")
    assert console == [], console
    # the page's script ran to the end and counted one drawn node per plan node
    assert f'data-nodes-drawn="{len(plan["nodes"])}"' in dom
    assert 'data-ready="yes"' in dom
    for node in plan["nodes"]:
        assert f'data-node="{node["id"]}"' in dom
    # negative control: the same check catches a page whose script fails
    broken = tmp_path / "broken.html"
    broken.write_text(
        html_path.read_text().replace("(function () {", "(function () { missingFn();", 1)
    )
    dom, console = chromium_load(broken.as_uri(), tmp_path / "profile2")
    assert any("Uncaught" in line for line in console)
    assert 'data-ready="yes"' not in dom
