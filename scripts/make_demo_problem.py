"""Regenerate planner/data/demo_problem.json: the built-in demo request of `planner run`.

"Check a form: read the handwritten digit in the answer box, read the digits written on the
scanned line, say how well the two readings agree, and clean up the attached noisy photo."

Each input has the shape and kind of the zoo's evaluation set for its task, so the shipped
profiles (measured on those sets) predict the demo's latencies:

- ``box``: an 8x8 grey digit in [0, 1]: a "7" of the zoo's held-out digits split;
- ``line``: a 40x40 scene with two held-out digits drawn 2x, like the detection set;
- ``photo``: a 64x64 grey crop of scikit-learn's bundled ``china.jpg`` plus Gaussian noise
  (sigma 25/255, seed 7), like the denoising set.

Run from the repository root: ``python scripts/make_demo_problem.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_sample_image

BOX = 533  # a "7" of the zoo's held-out split (seed-0 permutation, after the first 1200)
LINE = (1380, 472)  # a "1" and a "7" of the same held-out split
SIGMA = 25.0 / 255.0


def rounded(a: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 3) for v in row] for row in a]


def main() -> None:
    digits = load_digits()
    images = digits.images / 16.0
    box = images[BOX]
    line = np.zeros((40, 40))
    for (r, c), k in zip(((4, 2), (20, 22)), LINE, strict=True):
        line[r : r + 16, c : c + 16] = np.kron(images[k], np.ones((2, 2)))
    rgb = load_sample_image("china.jpg").astype(np.float64) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    crop = grey[200:264, 300:364]
    photo = crop + np.random.default_rng(7).normal(0, SIGMA, crop.shape)
    labels = [int(digits.target[BOX])] + [int(digits.target[k]) for k in LINE]
    problem = {
        "version": 1,
        "name": "demo: check a handwritten form",
        "description": "Read the handwritten digit in the answer box, read the digits on the "
        "scanned line, say how well the two readings agree, and clean up the noisy photo.",
        "source": "planner built-in demo (scripts/make_demo_problem.py): scikit-learn "
        f"load_digits images {BOX} (box) and {LINE[0]}, {LINE[1]} (line, labels "
        f"{labels[1]}, {labels[2]}); china.jpg crop [200:264, 300:364] + noise sigma 25/255",
        "graph": {
            "nodes": [
                {"id": "read_box", "task": "Image Classification", "args": {"image": "$box"}},
                {"id": "read_line", "task": "Object Detection", "args": {"image": "$line"}},
                {
                    "id": "agree",
                    "task": "Sentence Similarity",
                    "args": {"text1": "<read_box>", "text2": "<read_line>"},
                },
                {
                    "id": "clean_photo",
                    "task": "Image-to-Image",
                    "args": {"image": "$photo", "output_dir": "$run_dir"},
                },
            ]
        },
        "models": "zoo",
        "budgets": {"min_accuracy": 0.35},
        "weights": {"energy": 0.5, "latency": 0.5},
        "execution": "parallel",
        "metadata": {
            "inputs": {"box": "@box@", "line": "@line@", "photo": "@photo@"},
            "labels": {"box": labels[0], "line": labels[1:]},
        },
    }
    text = json.dumps(problem, indent=1)
    for key, arr in (("box", box), ("line", line), ("photo", photo)):
        rows = ",\n    ".join(json.dumps(r) for r in rounded(arr))
        text = text.replace(f'"@{key}@"', "[\n    " + rows + "\n   ]")
    json.loads(text)
    out = Path(__file__).resolve().parent.parent / "planner" / "data" / "demo_problem.json"
    out.write_text(text + "\n")
    print(f"wrote {out} (box {labels[0]}, line {labels[1:]})")


if __name__ == "__main__":
    main()
