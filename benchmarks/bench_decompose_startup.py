"""Wall time of ``planner decompose`` from a cold process, median of several runs.

    python -m benchmarks.bench_decompose_startup [--runs 5] [--request "..."]

Runs the installed ``planner`` console script (as a user would) with ``--no-semantic``, with
the default (the MiniLM fallback on when installed, but loaded lazily: only a request no rule
matches loads it) and, for comparison, ``python -c 'import planner.cli'``. Prints the machine
and, per variant, the median and the spread of ``--runs`` wall times.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from benchmarks.machine import describe


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-400:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--request", default="Transcribe meeting.wav, then summarize it and read it aloud"
    )
    args = parser.parse_args()
    planner = shutil.which("planner") or ""
    base = [planner] if planner else [sys.executable, "-m", "planner"]
    variants = {
        "planner decompose --no-semantic": [*base, "decompose", "--no-semantic", args.request],
        "planner decompose (default, MiniLM lazy)": [*base, "decompose", args.request],
        "python -c 'import planner.cli' (imports only)": [
            sys.executable,
            "-c",
            "import planner.cli",
        ],
    }
    for line in describe():
        print(line)
    print(f"request: {args.request!r}; {args.runs} runs each, wall seconds")
    print("| command | median s | min s | max s |")
    print("|---|---|---|---|")
    for name, cmd in variants.items():
        _wall(cmd)  # warm the file cache once
        times = [_wall(cmd) for _ in range(max(1, args.runs))]
        print(f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
