"""Hostile inputs of issue 18, one `planner` command each (replayed by the tests and by
``python -m benchmarks.reliability``).

Every case writes its files under a work folder and names the command, the exit code it
must give and a text its stderr (or stdout, for valid inputs) must hold. No case may print
``internal error:`` or a traceback, or take more than `CASE_SECONDS`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASE_SECONDS = 10.0


@dataclass
class Case:
    name: str
    kind: str  # solve, run, plans, decompose, report, flags, serve
    args: list[str]
    code: int = 2
    expect: str = "error:"  # in stderr (code 2) or stdout (code 0)
    env: dict[str, str | None] = field(default_factory=dict)
    after: Callable[[], str | None] | None = None  # extra check: None if fine, else why


def base_problem() -> dict[str, Any]:
    """Two nodes (detection feeding text-to-speech), two candidates each."""
    return {
        "graph": {
            "nodes": [
                {"id": "detect", "task": "Object Detection", "args": {"image": "street.jpg"}},
                {"id": "speak", "task": "Text-to-Speech", "args": {"text": "<detect>"}},
            ],
            "edges": [["detect", "speak"]],
        },
        "models": [
            {
                "id": "detr",
                "task": "Object Detection",
                "accuracy": 0.42,
                "latency_ms": 95.0,
                "energy_j": 12.5,
                "memory_mb": 160,
            },
            {
                "id": "yolo",
                "task": "Object Detection",
                "accuracy": 0.39,
                "latency_ms": 56.0,
                "energy_j": 3.5,
                "memory_mb": 10,
            },
            {
                "id": "tts-l",
                "task": "Text-to-Speech",
                "accuracy": 0.9,
                "latency_ms": 300,
                "energy_j": 30,
                "memory_mb": 900,
            },
            {
                "id": "tts-s",
                "task": "Text-to-Speech",
                "accuracy": 0.8,
                "latency_ms": 100,
                "energy_j": 5,
                "memory_mb": 100,
            },
        ],
        "budgets": {"energy_j": 50},
    }


def runnable_problem() -> dict[str, Any]:
    """Three echo models (tests/run_models.py) on a chain a -> b -> c."""

    def row(mid: str, task: str) -> dict[str, Any]:
        return {
            "id": mid,
            "task": task,
            "accuracy": 0.9,
            "latency_ms": 10,
            "energy_j": 1,
            "memory_mb": 1,
            "adapter": {
                "kind": "python",
                "target": "tests.run_models:echo",
                "options": {"tag": mid},
            },
        }

    return {
        "graph": {
            "nodes": [
                {"id": "a", "task": "A", "args": {"text": "$x"}},
                {"id": "b", "task": "B", "args": {"text": "<a>"}},
                {"id": "c", "task": "C", "args": {"text": "<b>"}},
            ],
            "edges": [],
        },
        "models": [row("ma", "A"), row("mb", "B"), row("mc", "C")],
        "metadata": {"inputs": {"x": "hi"}},
    }


def laughs(levels: int = 9) -> str:
    """YAML "billion laughs": ``levels`` anchors, each nine aliases of the one before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, levels):
        lines.append(f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]")
    return "\n".join(lines)


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def cases(work: Path) -> list[Case]:
    """Write every case's files under ``work`` and return the cases."""
    work.mkdir(parents=True, exist_ok=True)
    out: list[Case] = []

    def put(name: str, content: str | bytes | dict[str, Any] | list[Any]) -> str:
        path = work / name
        if isinstance(content, dict | list):
            content = json.dumps(content)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return str(path)

    def mutate(fn: Callable[[dict[str, Any]], None], base: dict[str, Any] | None = None) -> dict:
        data = copy.deepcopy(base if base is not None else base_problem())
        fn(data)
        return data

    def solve(name: str, content: Any, expect: str = "error:", code: int = 2, ext: str = "json"):
        out.append(Case(name, "solve", ["solve", put(f"{name}.{ext}", content)], code, expect))

    good = put("good.json", base_problem())
    yaml_good = yaml.safe_dump(base_problem(), sort_keys=False)

    # -------------------------------------------------------------- nesting, aliases
    solve("deep-json-array", '{"metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}", "deep")
    solve("deep-json-object", '{"a":' * 20_000 + "1" + "}" * 20_000, "deep")
    solve("deep-yaml-flow", "metadata: " + "[" * 5000 + "]" * 5000, "deep", ext="yaml")
    block = "".join("  " * k + f"k{k}:\n" for k in range(300)) + "  " * 300 + "v: 1\n"
    solve("deep-yaml-block", "metadata:\n" + _indent(block, 2), "deep", ext="yaml")
    solve("yaml-recursive-alias-metadata", yaml_good + "metadata: &a {x: *a}\n", "deep", ext="yaml")
    rec_args = yaml_good.replace("image: street.jpg", "image: &a [*a]")
    solve("yaml-recursive-alias-args", rec_args, "deep", ext="yaml")
    solve(
        "yaml-laughs-metadata",
        yaml_good + "metadata:\n" + _indent(laughs(), 2),
        "aliases",
        ext="yaml",
    )
    laughs_args = yaml_good.replace(
        "      image: street.jpg", "      image: street.jpg\n      bomb: *l8"
    )
    solve("yaml-laughs-args", laughs() + "\n" + laughs_args, "aliases", ext="yaml")
    solve("yaml-python-tag", "!!python/object/apply:os.system ['true']\n", "YAML", ext="yaml")

    # -------------------------------------------------------------- numbers
    text = json.dumps(base_problem())
    solve("nan-literal", text.replace('"accuracy": 0.42', '"accuracy": NaN'), "NaN")
    solve("infinity-budget", text.replace('"energy_j": 50', '"energy_j": Infinity'), "Infinity")
    solve("overflowing-literal", text.replace('"energy_j": 12.5', '"energy_j": 1e400'), "finite")
    solve("huge-int", text.replace('"memory_mb": 160', f'"memory_mb": {10**400}'), "integer")
    solve("int-too-many-digits", text.replace('"memory_mb": 160', f'"memory_mb": {"9" * 5000}'))

    def all_rows(key: str, value: float) -> Callable[[dict[str, Any]], None]:
        def fn(d: dict[str, Any]) -> None:
            for m in d["models"]:
                m[key] = value

        return fn

    for key in ("energy_j", "latency_ms", "memory_mb", "cost_usd"):
        solve(f"1e308-{key}", mutate(all_rows(key, 1e308)), "supported range")
    solve("1e308-budget", mutate(lambda d: d["budgets"].update(energy_j=1e308)), "supported range")
    solve(
        "1e308-weights-valid",
        mutate(lambda d: d.update(weights={"energy": 1e308, "latency": 1e308})),
        "OPTIMAL",
        code=0,
    )
    solve(
        "denormal-accuracy-valid",
        mutate(lambda d: d["models"][0].update(accuracy=5e-324)),
        "OPTIMAL",
        code=0,
    )

    # -------------------------------------------------------------- ids and text
    def rename(new: str) -> Callable[[dict[str, Any]], None]:
        def fn(d: dict[str, Any]) -> None:
            d["graph"]["nodes"][0]["id"] = new
            d["graph"]["nodes"][1]["args"] = {"text": f"<{new}>"} if "\n" not in new else {}
            d["graph"]["edges"] = [[new, "speak"]]

        return fn

    solve("id-trailing-newline", mutate(rename("detect\n")), "node id")
    solve("id-250-chars", mutate(rename("d" * 250)), "at most 128")
    solve("id-escape-sequence", mutate(rename("\x1b[2Jx")), "node id")
    solve("id-markup", mutate(rename("[/x]")), "node id")

    def task_markup(d: dict[str, Any]) -> None:
        d["graph"]["nodes"][0]["task"] = "[/x][bold]Det"
        for m in d["models"][:2]:
            m["task"] = "[/x][bold]Det"

    solve("task-name-markup-valid", mutate(task_markup), "[/x][bold]Det", code=0)
    solve(
        "model-id-escape-valid",
        mutate(lambda d: d["models"][0].update(id="\x1b]0;pwned\x07[/b]m", energy_j=0.1)),
        "\\x1b]0;pwned",
        code=0,
    )
    solve(
        "task-name-2000-chars",
        mutate(lambda d: d["graph"]["nodes"][0].update(task="T" * 2000)),
        "at most 200",
    )

    # -------------------------------------------------------------- what the path is
    fifo = work / "problem.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    out.append(Case("problem-dev-zero", "solve", ["solve", "/dev/zero"], expect="device file"))
    out.append(Case("problem-fifo", "solve", ["solve", str(fifo)], expect="FIFO"))
    out.append(Case("problem-directory", "solve", ["solve", str(work)], expect="directory"))
    sock_path = work / "problem.sock"
    if not sock_path.exists():
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(sock_path))
        sock.close()
    out.append(Case("problem-socket", "solve", ["solve", str(sock_path)], expect="socket"))
    out.append(
        Case(
            "problem-over-size-limit",
            "solve",
            ["solve", good],
            expect="PLANNER_MAX_INPUT_MB",
            env={"PLANNER_MAX_INPUT_MB": "0.0001"},
        )
    )
    solve("invalid-utf8", b'{"graph": "\xff\xfe"}', "UTF-8")
    solve("catalog-path-dev-zero", mutate(lambda d: d.update(models="/dev/zero")), "device file")
    deep_catalog = put("deep-catalog.json", "[" * 50_000 + "]" * 50_000)
    solve("catalog-path-deep", mutate(lambda d: d.update(models=deep_catalog)), "deep")

    # -------------------------------------------------------------- flags
    def flag(name: str, args: list[str], expect: str = "error:") -> None:
        out.append(Case(name, "flags", args, 2, expect))

    flag("time-limit-nan", ["solve", good, "--time-limit", "nan"], "time limit")
    flag("time-limit-inf", ["solve", good, "--time-limit", "inf"], "time limit")
    flag("time-limit-zero", ["solve", good, "--time-limit", "0"], "time limit")
    flag("gap-nan", ["solve", good, "--gap", "nan"], "gap")
    flag("pareto-points-1e8", ["pareto", good, "--points", "100000000"], "--points")
    flag("pareto-max-points-huge", ["pareto", good, "--max-points", "10000000000"], "--max-points")
    history = str(work / "history.sqlite")
    flag(
        "profiles-update-last-huge",
        ["profiles", "update", "--last", "9" * 25, "--history", history],
        "--last",
    )

    # -------------------------------------------------------------- output targets
    out_fifo = work / "out.fifo"
    if not out_fifo.exists():
        os.mkfifo(out_fifo)

    def still(path: Path, test: Callable[[int], bool], what: str) -> Callable[[], str | None]:
        return lambda: None if test(os.stat(path).st_mode) else f"{path} is no longer {what}"

    out.append(
        Case(
            "solve-o-fifo",
            "solve",
            ["solve", good, "-o", str(out_fifo)],
            expect="FIFO",
            after=still(out_fifo, stat.S_ISFIFO, "a FIFO"),
        )
    )
    device = work / "full-device"
    if not device.exists() and hasattr(os, "mknod"):
        with contextlib.suppress(OSError):  # not root: no device node of our own to offer
            os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # /dev/full's numbers
    if device.exists():
        out.append(
            Case(
                "solve-o-device",
                "solve",
                ["solve", good, "-o", str(device)],
                expect="device file",
                after=still(device, stat.S_ISCHR, "a device"),
            )
        )
    out.append(
        Case("solve-o-directory", "solve", ["solve", good, "-o", str(work)], expect="directory")
    )

    # -------------------------------------------------------------- plan files
    plan = base_plan(work)

    def plan_case(name: str, fn: Callable[[dict[str, Any]], None], cmd: str, expect: str) -> None:
        data = copy.deepcopy(plan)
        fn(data)
        path = put(f"{name}.json", data)
        args = ["run", path, "-q", "--trust-plan", "--out", str(work / f"run-{name}")]
        if cmd != "run":
            args = [cmd, path]
        out.append(Case(name, "plans", args, 2, expect))

    def kind(value: Any) -> Callable[[dict[str, Any]], None]:
        def fn(d: dict[str, Any]) -> None:
            d["problem"]["models"][0]["adapter"] = {"kind": value, "target": "os:system"}

        return fn

    plan_case("plan-adapter-kind-dict", kind({"zoo": 1}), "run", "kind")
    plan_case("plan-adapter-kind-list", kind(["zoo"]), "run", "kind")
    plan_case("plan-missing-node", lambda d: d["assignment"].pop("speak"), "inspect", "no entry")
    plan_case(
        "plan-node-list-short", lambda d: d.update(nodes=d["nodes"][:1]), "inspect", "no entry"
    )
    plan_case(
        "plan-unknown-node",
        lambda d: d["assignment"].update(ghost="yolo"),
        "inspect",
        "not in the plan's problem graph",
    )
    plan_case(
        "plan-model-not-a-candidate",
        lambda d: d["assignment"].update(speak="yolo"),
        "inspect",
        "not a candidate",
    )
    nan_plan = put(
        "plan-nan.json", json.dumps(plan).replace('"objective": ', '"objective": NaN, "x": ', 1)
    )
    out.append(Case("plan-nan-objective", "plans", ["inspect", nan_plan], 2, "NaN"))
    out.append(
        Case("diff-dev-zero", "report", ["diff", "/dev/zero", put("plan.json", plan)], 2, "device")
    )

    # -------------------------------------------------------------- run: validation paths
    runnable = runnable_problem()

    def run_case(
        name: str,
        data: dict[str, Any],
        expect: str,
        extra: list[str] | None = None,
        env: dict[str, str | None] | None = None,
    ) -> None:
        path = put(f"{name}.json", data)
        args = ["run", path, "-q", "--input-dir", str(work), "--out", str(work / f"run-{name}")]
        trust = {"PLANNER_TRUST_FILES": "1"}
        out.append(Case(name, "run", args + (extra or []), 2, expect, env=env or trust))

    def arg(value: str) -> dict[str, Any]:
        return mutate(lambda d: d["graph"]["nodes"][0]["args"].update(image=value), runnable)

    run_case("run-abs-path-with-space", arg("/srv/my secret.jpg"), "absolute path")
    run_case("run-dotdot-with-space", arg("my dir/../../etc/shadow"), "'..'")
    run_case("run-long-path", arg("/" + "a/" * 3000 + "passwd"), "characters")
    run_case("run-file-url", arg("file:///etc/passwd"), "file: URL")
    run_case("run-tilde-with-space", arg("~/my keys/id.txt"), "'~'")
    run_case(
        "run-metadata-input-abs",
        mutate(lambda d: d["metadata"].update(inputs={"x": "/srv/secret dir/a.png"}), runnable),
        "absolute path",
    )
    run_case(
        "run-problem-python-adapter-untrusted",
        runnable,
        "not in your catalog",
        env={"PLANNER_TRUST_FILES": None},
    )
    run_case(
        "run-problem-os-system-adapter",
        mutate(lambda d: d["models"][0]["adapter"].update(target="os:system"), runnable),
        "os:system",
        env={"PLANNER_TRUST_FILES": None},
    )
    run_case("run-inputs-dev-zero", runnable, "device", ["--inputs", "/dev/zero"])
    run_case(
        "run-inputs-deep",
        runnable,
        "deep",
        ["--inputs", put("deep-inputs.json", '{"x":' * 5000 + "1" + "}" * 5000)],
    )
    run_case("run-time-limit-nan", runnable, "time limit", ["--time-limit", "nan"])
    run_case(
        "run-node-id-250",
        mutate(lambda d: d["graph"]["nodes"][2].update(id="c" * 250), runnable),
        "at most 128",
    )

    # -------------------------------------------------------------- decompose
    def dec(name: str, args: list[str], expect: str) -> None:
        out.append(Case(name, "decompose", args, 2, expect))

    dec(
        "decompose-abs-path-with-space",
        ["decompose", "Describe the picture '/srv/my secret.jpg'", "--no-semantic"],
        "absolute path",
    )
    dec("decompose-llm-config-dev-zero", ["decompose", "x", "--llm-config", "/dev/zero"], "device")
    dec(
        "decompose-llm-config-deep",
        ["decompose", "x", "--llm-config", put("deep-llm.json", "[" * 10_000 + "]" * 10_000)],
        "deep",
    )
    dec(
        "decompose-llm-config-laughs",
        ["decompose", "x", "--llm-config", put("laughs-llm.yaml", laughs())],
        "aliases",
    )
    dec("decompose-tool-graph-fifo", ["decompose", "x", "--tool-graph", str(fifo)], "FIFO")
    dec(
        "decompose-tool-graph-deep",
        ["decompose", "x", "--tool-graph", put("deep-tools.json", "[" * 10_000 + "]" * 10_000)],
        "deep",
    )
    dec("eval-dev-zero", ["eval", "decompose", "/dev/zero"], "device")
    dec("eval-fifo", ["eval", "decompose", str(fifo)], "FIFO")

    # -------------------------------------------------------------- report
    html = str(work / "report.html")
    out.append(Case("report-dev-zero", "report", ["report", "/dev/zero", "-o", html], 2, "device"))
    out.append(
        Case(
            "report-deep",
            "report",
            ["report", put("deep-plan.json", "[" * 10_000 + "]" * 10_000), "-o", html],
            2,
            "deep",
        )
    )
    out.append(
        Case(
            "report-o-fifo",
            "report",
            ["report", put("plan.json", plan), "-o", str(out_fifo), "--no-pareto"],
            2,
            "FIFO",
            after=still(out_fifo, stat.S_ISFIFO, "a FIFO"),
        )
    )
    out.append(
        Case(
            "report-laughs",
            "report",
            ["report", put("laughs-plan.yaml", laughs()), "-o", html],
            2,
            "aliases",
        )
    )
    out.append(
        Case(
            "history-bad-schema",
            "report",
            ["history", "--history", bad_history(work)],
            2,
            "history schema",
        )
    )
    out.extend(second_pass(work, put, fifo, laughs_plan=put("laughs2.yaml", laughs())))
    return out


def second_pass(
    work: Path, put: Callable[[str, Any], str], fifo: Path, laughs_plan: str
) -> list[Case]:
    """Cases of the second pass (issue 18): serve's flags and files, run outputs JSON cannot
    hold, run/decompose/report/solve flags and files of the kinds the first pass missed."""
    out: list[Case] = []
    deep = put("deep2.json", "[" * 5000 + "]" * 5000)
    good = put("good2.json", base_problem())

    # -------------------------------------------------------------- serve (never binds:
    # 192.0.2.1 is TEST-NET, not this machine's, so a case that passes validation fails
    # on the port check instead of serving)
    state = str(work / "serve-state")

    def serve(name: str, extra: list[str], expect: str, env: dict[str, str | None] | None = None):
        args = ["serve", "--host", "192.0.2.1", "--port", "8999", "--state-dir", state]
        if "--token-env" not in extra:  # not loopback: a token is required
            args += ["--token-env", "PLANNER_CORPUS_TOKEN"]
        token: dict[str, str | None] = {"PLANNER_CORPUS_TOKEN": "corpus-secret"}
        out.append(Case(name, "serve", [*args, *extra], 2, expect, env={**token, **(env or {})}))

    serve("serve-catalog-dev-zero", ["--catalog", "/dev/zero"], "device")
    serve("serve-catalog-fifo", ["--catalog", str(fifo)], "FIFO")
    serve("serve-catalog-deep", ["--catalog", deep], "deep")
    serve("serve-catalog-laughs", ["--catalog", laughs_plan], "aliases")
    serve("serve-catalog-missing", ["--catalog", str(work / "nope.json")], "no such file")
    serve("serve-slot-s-nan", ["--slot-s", "nan"], "slot")
    serve("serve-slot-s-zero", ["--slot-s", "0"], "slot")
    serve("serve-slot-energy-negative", ["--slot-energy-j", "-1"], "slot_energy_j")
    serve("serve-slot-energy-nan", ["--slot-energy-j", "nan"], "slot_energy_j")
    serve("serve-workers-zero", ["--workers", "0"], "workers")
    serve("serve-port-out-of-range", ["--port", "70000"], "port")
    serve("serve-policy-unknown", ["--policy", "sideways"], "--policy")
    serve(
        "serve-token-env-unset",
        ["--token-env", "PLANNER_NO_SUCH_TOKEN"],
        "PLANNER_NO_SUCH_TOKEN",
        env={"PLANNER_NO_SUCH_TOKEN": None},
    )
    serve("serve-max-body-tiny", ["--max-body-bytes", "10"], "max_body_bytes")
    serve("serve-request-timeout-nan", ["--request-timeout", "nan"], "request_timeout")
    serve("serve-input-dir-missing", ["--input-dir", str(work / "no-dir")], "not a folder")
    serve("serve-queue-max-negative", ["--queue-max", "-1"], "queue_max")
    serve("serve-not-this-machine", [], "cannot listen")

    # -------------------------------------------------------------- run: outputs and flags
    runnable = runnable_problem()

    def with_model(target: str) -> dict[str, Any]:
        data = copy.deepcopy(runnable)
        data["models"][1]["adapter"] = {"kind": "python", "target": target}
        return data

    trust = {"PLANNER_TRUST_FILES": "1"}

    def output_holds(run_dir: Path, text: str) -> Callable[[], str | None]:
        def check() -> str | None:
            raw = (run_dir / "outputs" / "b.json").read_text()
            json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            return None if text in raw else f"{text!r} not in outputs/b.json: {raw[:200]}"

        return check

    for name, target, text in (
        ("run-output-circular", "circular", "<circular reference>"),
        ("run-output-tuple-keys", "tuple_keys", "('a', 1)"),
        ("run-output-nan", "non_finite", '"NaN"'),
    ):
        run_dir = work / f"run-{name}"
        path = put(f"{name}.json", with_model(f"tests.reliability_models:{target}"))
        out.append(
            Case(
                name,
                "run",
                ["run", path, "-q", "--out", str(run_dir)],
                0,
                "Answer",
                env=trust,
                after=output_holds(run_dir, text),
            )
        )

    runnable_path = put("runnable2.json", runnable)

    def run_flag(name: str, extra: list[str], expect: str) -> None:
        args = ["run", runnable_path, "-q", "--out", str(work / f"run-{name}"), *extra]
        out.append(Case(name, "run", args, 2, expect, env=trust))

    run_flag("run-workers-zero", ["--workers", "0"], "workers")
    run_flag("run-workers-negative", ["--workers", "-3"], "workers")
    run_flag("run-node-timeout-nan", ["--node-timeout", "nan"], "timeout")
    run_flag("run-node-timeout-negative", ["--node-timeout", "-1"], "timeout")
    run_flag("run-time-limit-1e400", ["--time-limit", "1e400"], "time limit")
    run_flag("run-out-is-a-file", ["--out", good], "Not a directory")
    run_flag("run-inputs-nan", ["--inputs", put("nan-inputs.json", '{"x": NaN}')], "NaN")
    run_flag("run-inputs-laughs", ["--inputs", laughs_plan], "aliases")
    missing = mutate_copy(runnable, lambda d: d["metadata"].update(inputs={}))
    out.append(
        Case(
            "run-missing-user-input",
            "run",
            ["run", put("missing-input.json", missing), "-q", "--out", str(work / "run-mi")],
            2,
            "x",
            env=trust,
        )
    )
    out.append(Case("run-plan-dev-zero", "run", ["run", "/dev/zero", "-q"], 2, "device"))
    out.append(Case("run-plan-deep", "run", ["run", deep, "-q"], 2, "deep"))
    out.append(Case("run-plan-fifo", "run", ["run", str(fifo), "-q"], 2, "FIFO"))

    # -------------------------------------------------------------- decompose
    def dec(name: str, args: list[str], expect: str, code: int = 2) -> None:
        out.append(Case(name, "decompose", args, code, expect))

    dec("decompose-tool-graph-yaml", ["decompose", "x", "--tool-graph", laughs_plan], "JSON")
    dec("decompose-tool-graph-dev-zero", ["decompose", "x", "--tool-graph", "/dev/zero"], "device")
    dec(
        "decompose-llm-config-nan",
        ["decompose", "x", "--llm-config", put("nan-llm.json", '{"timeout_s": NaN}')],
        "NaN",
    )
    dec("eval-deep", ["eval", "decompose", deep], "deep")
    dec("eval-not-jsonl", ["eval", "decompose", laughs_plan], "no usable TaskBench record")
    dec(
        "decompose-escapes-in-request-valid",
        ["decompose", "Summarize this text: [2J]0;pwned [/x] the cat sat"],
        "Summarization",
        code=0,
    )

    # -------------------------------------------------------------- report, inspect, diff
    def rep(name: str, args: list[str], expect: str) -> None:
        out.append(Case(name, "report", args, 2, expect))

    html = str(work / "report2.html")
    rep("report-missing-file", ["report", str(work / "absent.json"), "-o", html], "absent.json")
    rep("report-o-directory", ["report", good, "-o", str(work), "--no-pareto"], "directory")
    rep("inspect-dev-zero", ["inspect", "/dev/zero"], "device")
    rep("inspect-laughs", ["inspect", laughs_plan], "aliases")
    rep("diff-fifo", ["diff", str(fifo), good], "FIFO")
    rep("diff-deep", ["diff", deep, good], "deep")
    rep(
        "history-show-markup-id",
        ["history", "--show", "[/x][2J", "--history", str(work / "h2.sqlite")],
        "no run",
    )

    # -------------------------------------------------------------- solve and insight flags
    def flag(name: str, args: list[str], expect: str) -> None:
        out.append(Case(name, "flags", args, 2, expect))

    flag("energy-budget-nan", ["solve", good, "--energy-budget", "nan"], "energy")
    flag("energy-budget-1e400", ["solve", good, "--energy-budget", "1e400"], "energy")
    flag("weights-nan", ["solve", good, "--weights", "energy=nan"], "weight")
    flag("whatif-factors-nan", ["whatif", good, "--factors", "nan"], "--factors")
    flag("whatif-factors-1e400", ["whatif", good, "--factors", "1e400"], "--factors")
    out.append(  # as many as exist, found within the time limit
        Case(
            "alternatives-huge-k-valid",
            "flags",
            ["alternatives", good, "-k", "10000000000"],
            0,
            "tts",
        )
    )
    return out


def mutate_copy(data: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    fn(copied)
    return copied


def base_plan(work: Path) -> dict[str, Any]:
    """The plan of `base_problem` (solved in-process once)."""
    from planner import problem_from_data, solve

    plan = solve(problem_from_data(base_problem()))
    data: dict[str, Any] = json.loads(plan.to_json())
    return data


def bad_history(work: Path) -> str:
    import sqlite3

    path = work / "bad-history.sqlite"
    if not path.exists():
        conn = sqlite3.connect(path)
        conn.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema', 'not-a-number');"
        )
        conn.commit()
        conn.close()
    return str(path)


@dataclass
class Outcome:
    case: Case
    code: int
    seconds: float
    ok: bool
    why: str


def replay(case: Case) -> Outcome:
    """Run ``case`` through ``planner.cli.main`` in this process and judge it."""
    import contextlib
    import io
    import time

    from planner.cli import main

    saved = {k: os.environ.get(k) for k in case.env}
    for k, v in case.env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(case.args))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    stdout, stderr = out.getvalue(), err.getvalue()
    why = ""
    if "internal error" in stderr or "Traceback" in stderr:
        why = "internal error: " + stderr.strip().splitlines()[-1][:200]
    elif code != case.code:
        why = f"exit {code}, expected {case.code}: {(stderr.strip() or stdout.strip())[-300:]}"
    elif case.expect not in (stderr if case.code else stdout):
        why = f"{case.expect!r} not in the output: {(stderr.strip() or stdout.strip())[-300:]}"
    elif "\x1b" in stdout or "\x1b" in stderr:
        why = "a raw ESC character reached the terminal"
    elif seconds > CASE_SECONDS:
        why = f"took {seconds:.1f} s"
    elif case.after is not None:
        why = case.after() or ""
    return Outcome(case, code, seconds, not why, why)
