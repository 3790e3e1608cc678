"""Regenerate planner/data/demo_problem.json: the built-in demo request of `planner run`.

"Check a handwritten answer sheet: read the digits of the reference and of the handwritten
answer, say how well the two readings agree, and clean up the two noisy photos attached to
the sheet (front and back)."

Each input has the shape and kind of the zoo's evaluation set for its task, so the shipped
profiles (measured on those sets) predict the demo's latencies:

- ``line`` (the reference) and ``box`` (the answer): 128x128 scenes of eight held-out digits
  drawn 2x in two rows of four, like the detection set (128x128, 4-12 digits, 8 on
  average). The answer differs from the reference in its last digit. Each digit image is the
  first of its label in the held-out split that every zoo detector reads correctly in place
  (checked here);
- ``front`` and ``back``: 256x256 grey crops of scikit-learn's bundled ``china.jpg`` plus
  Gaussian noise (sigma 25/255, seeds 7 and 8); the denoising set is 256x256 crops too.

All four ship as 8-bit grey PNGs beside the problem (``planner/data/demo_*.png``).

The budgets are per-node accuracy floors: the readings must come from a detector of F1 at
least 0.94, the photos from a denoiser scoring at least 0.56, and the agreement from a
similarity model of hit@1 at least 0.7; the solver picks the cheapest models that meet them.

Run from the repository root: ``python scripts/make_demo_problem.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image

from profiles.zoo import get_model
from profiles.zoo.digits import DETECTORS, SCENE, WORDS, digits_split
from profiles.zoo.registry import encode_output

REFERENCE = (3, 1, 4, 1, 5, 9, 2, 6)
ANSWER = (3, 1, 4, 1, 5, 9, 2, 7)
#: top-left corners of the eight 16x16 cells: two rows of four, well apart
CELLS = tuple((r, c) for r in (28, 76) for c in (10, 40, 70, 100))
SIGMA = 25.0 / 255.0
PHOTOS = {
    "front": ((slice(100, 356), slice(200, 456)), 7),
    "back": ((slice(150, 406), slice(0, 256)), 8),
}


def scene(glyphs: list[np.ndarray]) -> np.ndarray:
    """The 8-bit image (as shipped) of the glyphs in their cells."""
    canvas = np.zeros((SCENE, SCENE), dtype=np.float32)
    for (r, c), glyph in zip(CELLS, glyphs, strict=True):
        canvas[r : r + 16, c : c + 16] = np.kron(glyph, np.ones((2, 2), dtype=np.float32))
    return np.round(canvas * 255).astype(np.uint8)


def reading(labels: tuple[int, ...]) -> str:
    return ", ".join(WORDS[k] for k in labels)


def read(detector: Any, img: np.ndarray) -> str:
    """The detector's reading as a pipeline node's output text."""
    text: str = encode_output("Object Detection", detector.predict(img), {})["text"]
    return text


def read_correctly(labels: tuple[int, ...]) -> tuple[np.ndarray, list[int]]:
    """The scene of ``labels`` and the held-out indices used: for each position the first
    image of that label with which every zoo detector reads the whole scene right."""
    _, _, x, y = digits_split()
    detectors = [get_model(d.name) for d in DETECTORS]
    for det in detectors:
        det.prepare()
        det.load()
    chosen = [int(np.flatnonzero(y == k)[0]) for k in labels]
    for pos, k in enumerate(labels):
        for idx in np.flatnonzero(y == k):
            chosen[pos] = int(idx)
            img = scene([x[i] for i in chosen])
            texts = [read(det, img) for det in detectors]
            # positions after ``pos`` still hold first candidates: check the prefix only
            if all(
                t.split(", ")[: pos + 1] == reading(labels[: pos + 1]).split(", ") for t in texts
            ):
                break
        else:
            raise SystemExit(f"no held-out {k} that every detector reads at position {pos}")
    img = scene([x[i] for i in chosen])
    for det in detectors:
        got = read(det, img)
        assert got == reading(labels), (det.name, got)
    return img, chosen


def main() -> None:
    line, line_idx = read_correctly(REFERENCE)
    box, box_idx = read_correctly(ANSWER)
    rgb = load_sample_image("china.jpg").astype(np.float64) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    photos = {}
    for name, (crop, seed) in PHOTOS.items():
        clean = grey[crop]
        noisy = clean + np.random.default_rng(seed).normal(0, SIGMA, clean.shape)
        photos[name] = np.round(np.clip(noisy, 0, 1) * 255).astype(np.uint8)
    problem = {
        "version": 1,
        "name": "demo: check a handwritten answer sheet",
        "description": "Read the digits of the reference and of the handwritten answer, say "
        "how well the two readings agree, and clean up the sheet's two noisy photos.",
        "source": "planner built-in demo (scripts/make_demo_problem.py): held-out scikit-learn "
        f"load_digits images (zoo split) {line_idx} (line: {reading(REFERENCE)}) and "
        f"{box_idx} (box: {reading(ANSWER)}); china.jpg grey crops "
        + ", ".join(
            f"[{c[0].start}:{c[0].stop}, {c[1].start}:{c[1].stop}] (seed {seed})"
            for c, seed in PHOTOS.values()
        )
        + " + noise sigma 25/255",
        "graph": {
            "nodes": [
                {"id": "read_box", "task": "Object Detection", "args": {"image": "$box"}},
                {"id": "read_line", "task": "Object Detection", "args": {"image": "$line"}},
                {
                    "id": "agree",
                    "task": "Sentence Similarity",
                    "args": {"text1": "<read_box>", "text2": "<read_line>"},
                },
                {
                    "id": "clean_front",
                    "task": "Image-to-Image",
                    "args": {"image": "$front", "output_dir": "$run_dir"},
                },
                {
                    "id": "clean_back",
                    "task": "Image-to-Image",
                    "args": {"image": "$back", "output_dir": "$run_dir"},
                },
            ]
        },
        "models": "zoo",
        "budgets": {
            "node_min_accuracy": {
                "read_box": 0.94,
                "read_line": 0.94,
                "agree": 0.7,
                "clean_front": 0.56,
                "clean_back": 0.56,
            }
        },
        "weights": {"energy": 0.5, "latency": 0.5},
        "execution": "parallel",
        "metadata": {
            # package images, decoded to 8-bit grey arrays by planner.cli_run.demo_problem
            "inputs": {k: f"package:demo_{k}.png" for k in ("box", "line", "front", "back")},
            "expected": {"box": reading(ANSWER), "line": reading(REFERENCE)},
        },
    }
    data = Path(__file__).resolve().parent.parent / "planner" / "data"
    for key, arr in (("box", box), ("line", line), *photos.items()):
        Image.fromarray(arr).save(data / f"demo_{key}.png", optimize=True)
    out = data / "demo_problem.json"
    out.write_text(json.dumps(problem, indent=1) + "\n")
    print(f"wrote {out} and its images (box {reading(ANSWER)}, line {reading(REFERENCE)})")


if __name__ == "__main__":
    main()
