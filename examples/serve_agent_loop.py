"""An agent loop that hands each step to `planner serve` and lives within its energy budget.

Start a server (here over the built-in model zoo, models loaded before the first slot):

    planner serve --slot-s 60 --slot-energy-j 5 --preload &

then run the loop (standard library only on the client side):

    python examples/serve_agent_loop.py --url http://127.0.0.1:8000

Each step asks the service to plan and run one sub-request. The service picks the most
accurate models the slot's remaining energy allows, so later steps in a busy slot get cheaper
models; when nothing fits, the service answers 429 with the seconds to the next slot, and the
agent waits for it (up to ``--max-wait``) or skips the step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.client import Client, Rejected, ServeError

#: What the agent wants done, one sub-request per step (the zoo serves these).
STEPS = [
    'How similar are "a cat sat on the mat" and "the cat is sitting on a mat"?',
    'How similar are "the invoice is overdue" and "payment has not arrived yet"?',
    'How similar are "book a table for two" and "reserve a restaurant for 2 people"?',
]


def agent_loop(
    client: Client,
    steps: list[str],
    max_wait_s: float = 60.0,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run every step through the service; returns one record per step."""
    records = []
    for i, text in enumerate(steps, 1):
        left = client.budget()
        log(
            f"step {i}: {left['remaining_j'] if left['remaining_j'] is not None else 'no limit'}"
            f" J left in this slot, {left['seconds_to_next_slot']:.1f} s to the next"
        )
        record: dict[str, Any] = {"step": i, "request": text}
        for attempt in range(2):
            try:
                result = client.run(request=text)
            except Rejected as exc:
                wait = exc.retry_after_s or 1.0
                if attempt or wait > max_wait_s:
                    log(f"  skipped: {exc.message}")
                    record["skipped"] = exc.message
                    break
                log(f"  no energy left in this slot; waiting {wait:.1f} s for the next one")
                time.sleep(wait)
                continue
            models = sorted(set(result["plan"]["assignment"].values()))
            record.update(
                answer=result["answer"],
                models=models,
                accuracy=result["plan"]["totals"]["accuracy"],
                predicted_j=result["energy"]["predicted_j"],
                measured_j=result["energy"]["measured_j"],
            )
            log(
                f"  {', '.join(models)} -> {result['answer']!r} "
                f"({result['energy']['measured_j']:.3f} J measured, "
                f"{result['energy']['predicted_j']:.3f} J predicted)"
            )
            break
        records.append(record)
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token-env", default=None, help="Variable holding the bearer token.")
    parser.add_argument("--max-wait", type=float, default=60.0, help="Longest wait for a slot.")
    parser.add_argument("--repeat", type=int, default=2, help="Times through the steps.")
    args = parser.parse_args()
    token = os.environ.get(args.token_env) if args.token_env else None
    client = Client(args.url, token=token)
    try:
        agent_loop(client, STEPS * args.repeat, max_wait_s=args.max_wait)
    except ServeError as exc:
        print(f"error: {exc} (is `planner serve` running at {args.url}?)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
