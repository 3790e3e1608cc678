"""The subprocess adapter: command-line models with bounded output and a killing timeout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from profiles.adapters import AdapterError, load_adapter
from profiles.subprocess_adapter import CommandError, SubprocessRunner, run_command

PY = sys.executable


def row(**adapter: object) -> dict[str, object]:
    return {"id": "my-tool", "task": "Summarization", "adapter": {"kind": "subprocess", **adapter}}


def test_stdout_is_the_text_and_inputs_fill_the_arguments() -> None:
    runner = load_adapter(
        row(command=[PY, "-c", "import sys; print(sys.argv[1].upper())", "{text}"])
    )
    assert isinstance(runner, SubprocessRunner)
    runner.load()
    assert runner.run({"text": "hello there"}) == {"text": "HELLO THERE"}


def test_stdin_template_and_child_cpu_time() -> None:
    code = "import sys; s = sys.stdin.read(); x = sum(range(3_000_000)); print(s[::-1])"
    runner = load_adapter(row(command=[PY, "-c", code], stdin="{text}!"))
    assert runner.run({"text": "abc"}) == {"text": "!cba"}
    assert runner.last_child_cpu_s > 0  # the child's own CPU time, from os.wait4


def test_output_file_is_written_into_the_output_dir(tmp_path: Path) -> None:
    code = "import sys; open(sys.argv[1], 'w').write(sys.argv[2] * 2)"
    runner = load_adapter(
        row(command=[PY, "-c", code, "{out}", "{text}"], output_file="audio", output_suffix=".txt")
    )
    out = runner.run({"text": "ab", "output_dir": str(tmp_path / "o")})
    path = Path(out["audio"])
    assert path.parent == tmp_path / "o" and path.suffix == ".txt"
    assert path.read_text() == "abab"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    # the program starts a grandchild that would outlive it; both must die
    marker = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    runner = load_adapter(row(command=[PY, "-c", code], timeout_s=1.5))
    start = time.monotonic()
    with pytest.raises(CommandError, match=r"'my-tool'.*did not finish within 1.5 s.*killed"):
        runner.run({})
    assert time.monotonic() - start < 10
    pid = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:  # pragma: no cover - the failure being tested for
        os.kill(pid, 9)
        pytest.fail("the grandchild survived the timeout")


def test_output_beyond_the_bound_is_stopped() -> None:
    code = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    runner = load_adapter(row(command=[PY, "-c", code], max_output_bytes=100_000, timeout_s=30))
    with pytest.raises(CommandError, match=r"'my-tool'.*more than 100000 bytes"):
        runner.run({})


def test_failures_name_the_model_and_say_how_to_fix() -> None:
    missing = load_adapter(
        row(command=["no-such-program-xyz", "{text}"], install="apt-get install xyz")
    )
    with pytest.raises(CommandError, match=r"'my-tool'.*not installed; install it: apt-get"):
        missing.load()
    failing = load_adapter(row(command=[PY, "-c", "import sys; sys.exit('bad input')"]))
    with pytest.raises(CommandError, match=r"'my-tool'.*exited with status 1: bad input"):
        failing.run({})
    needs = load_adapter(row(command=[PY, "-c", "pass", "{image}"]))
    with pytest.raises(CommandError, match=r"needs the input 'image'"):
        needs.run({"text": "x"})
    with pytest.raises(CommandError, match="string or number"):
        needs.run({"image": [[1, 2]]})


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        ({"command": "echo hi"}, "non-empty list of strings"),
        ({"command": []}, "non-empty list of strings"),
        ({"command": ["{text}"]}, "program name cannot be an input"),
        ({"command": ["cat"], "timeout_s": 0}, "timeout_s"),
        ({"command": ["cat"], "output_file": "audio"}, "needs '{out}'"),
        ({"command": ["cat"], "shell": True}, "unknown subprocess adapter field"),
    ],
)
def test_malformed_adapters_are_refused(adapter: dict[str, object], message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        load_adapter(row(**adapter))


def test_run_command_returns_stdout_and_cpu() -> None:
    out, cpu = run_command([PY, "-c", "print('ok')"], model="m")
    assert out.strip() == "ok" and cpu >= 0
