"""Regenerate planner/data/demo_problem.json: the built-in demo request of `planner run`.

The input is a noisy scan of one handwritten digit: a held-out image of scikit-learn's bundled
UCI digits (8x8), upscaled 3x to 24x24, plus seeded Gaussian noise (sigma 25/255), stored as
grey values 0-255. Run from the repository root: ``python scripts/make_demo_problem.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

INDEX = 533  # a "7" of the zoo's held-out test split (seed-0 permutation, after the first 1200)
SIGMA = 25.0 / 255.0


def main() -> None:
    data = load_digits()
    img = np.kron(data.images[INDEX] / 16.0, np.ones((3, 3)))
    rng = np.random.default_rng(7)
    noisy = np.clip(img + rng.normal(0, SIGMA, img.shape), 0, 1)
    grey = np.round(noisy * 255).astype(int).tolist()
    problem = {
        "version": 1,
        "name": "demo: read a noisy handwritten digit two ways",
        "description": "Clean up this noisy scan of a handwritten digit, read it with a "
        "classifier and with a detector, and check that the two readings agree.",
        "source": f"planner built-in demo; input: scikit-learn load_digits image {INDEX} "
        f"(label {int(data.target[INDEX])}), 3x upscaled, Gaussian noise sigma 25/255, "
        "seed 7 (scripts/make_demo_problem.py)",
        "graph": {
            "nodes": [
                {"id": "denoise", "task": "Image-to-Image",
                 "args": {"image": "$image", "output_dir": "$run_dir"}},
                {"id": "classify", "task": "Image Classification",
                 "args": {"image": "<denoise>"}},
                {"id": "detect", "task": "Object Detection", "args": {"image": "<denoise>"}},
                {"id": "agree", "task": "Sentence Similarity",
                 "args": {"text1": "<classify>", "text2": "<detect>"}},
            ]
        },
        "models": "zoo",
        "budgets": {"min_accuracy": 0.5},
        "weights": {"energy": 0.5, "latency": 0.5},
        "execution": "parallel",
        "metadata": {"inputs": {"image": grey}, "expected_label": int(data.target[INDEX])},
    }
    out = Path(__file__).resolve().parent.parent / "planner" / "data" / "demo_problem.json"
    problem["metadata"]["inputs"]["image"] = "@IMAGE@"  # one line per image row
    rows = ",\n    ".join(json.dumps(r) for r in grey)
    text = json.dumps(problem, indent=1).replace('"@IMAGE@"', "[\n    " + rows + "\n   ]")
    out.write_text(text + "\n")
    print(f"wrote {out} (digit {int(data.target[INDEX])})")


if __name__ == "__main__":
    main()
