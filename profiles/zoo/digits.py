"""Handwritten digits (scikit-learn's bundled UCI digits, 8x8): Image Classification with
models of several sizes, and Object Detection on scenes composed from held-out digits."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooModel

DIGITS_DATASET = "scikit-learn load_digits (UCI optdigits 8x8, 1797 images)"
N_TRAIN = 1200  # of a seeded shuffle; the other 597 are the test split
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@functools.cache
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test); images are float32 8x8 in [0, 1]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(images))
    tr, te = order[:N_TRAIN], order[N_TRAIN:]
    return images[tr], data.target[tr], images[te], data.target[te]


def to_digit_image(image: Any) -> np.ndarray:
    """Any 2-D grey image (float in [0,1], or uint8 / values up to 255) -> 8x8 float32 in
    [0,1]."""
    raw = np.asarray(image)
    arr = raw.astype(np.float32)
    if arr.ndim == 3:
        arr = arr.mean(axis=2)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"expected a 2-D grey image, got shape {arr.shape}")
    if raw.dtype == np.uint8 or arr.max() > 2.0:
        arr = arr / 255.0
    if arr.shape != (8, 8):
        from scipy.ndimage import zoom

        arr = zoom(arr, (8 / arr.shape[0], 8 / arr.shape[1]), order=1)
        arr = np.clip(arr, 0.0, 1.0)
    return arr.astype(np.float32)


# --------------------------------------------------------------------------- classifiers


class DigitClassifier(ZooModel):
    """Base: ``predict(8x8 image) -> (label, confidence)``."""

    task: ClassVar[str] = "Image Classification"

    def predict(self, x: Any) -> tuple[int, float]:
        probs = self.probabilities(to_digit_image(x)[None])[0]
        k = int(np.argmax(probs))
        return k, float(probs[k])

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LogRegDigits(DigitClassifier):
    name: ClassVar[str] = "digits-logreg"
    summary: ClassVar[str] = "scikit-learn multinomial logistic regression on the 64 pixels"
    requires: ClassVar[tuple[str, ...]] = ("sklearn.linear_model",)

    def _load(self) -> None:
        from sklearn.linear_model import LogisticRegression

        x, y, _, _ = digits_split()
        self.model = LogisticRegression(max_iter=500, C=0.5).fit(x.reshape(len(x), -1), y)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_proba(batch.reshape(len(batch), -1)))


class TorchDigits(DigitClassifier):
    """A torch network trained once on the train split (seeded) and cached."""

    requires: ClassVar[tuple[str, ...]] = ("torch",)
    epochs: ClassVar[int] = 30

    def build(self) -> Any:
        raise NotImplementedError

    def recipe(self) -> str:
        return f"{self.name}|{self.build()!r}|epochs={self.epochs}|n_train={N_TRAIN}|v1"

    def prepare(self) -> None:
        import torch

        from profiles.zoo.torchutil import fit_classifier, train_or_load

        def train(model: Any) -> None:
            x, y, _, _ = digits_split()
            fit_classifier(
                model, torch.from_numpy(x[:, None]), torch.from_numpy(y).long(), self.epochs
            )

        self.net = train_or_load(self.name, self.recipe(), self.build, train)

    def _load(self) -> None:
        self.net.eval()

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            logits = self.net(torch.from_numpy(np.ascontiguousarray(batch[:, None])))
            return torch.softmax(logits, dim=1).numpy()


class MLPDigits(TorchDigits):
    width: ClassVar[int] = 16

    def build(self) -> Any:
        from torch import nn

        return nn.Sequential(
            nn.Flatten(), nn.Linear(64, self.width), nn.ReLU(), nn.Linear(self.width, 10)
        )


class MLP16(MLPDigits):
    name: ClassVar[str] = "digits-mlp-16"
    summary: ClassVar[str] = "torch MLP, one hidden layer of 16 units"
    width: ClassVar[int] = 16


class MLP512(MLPDigits):
    name: ClassVar[str] = "digits-mlp-256x2"
    summary: ClassVar[str] = "torch MLP, two hidden layers of 256 units"
    width: ClassVar[int] = 256
    epochs: ClassVar[int] = 15

    def build(self) -> Any:
        from torch import nn

        w = self.width
        return nn.Sequential(
            nn.Flatten(), nn.Linear(64, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 10)
        )


class CNNDigits(TorchDigits):
    name: ClassVar[str] = "digits-cnn-32"
    summary: ClassVar[str] = "torch CNN, conv 16 -> conv 32 -> dense 64"
    epochs: ClassVar[int] = 12

    def build(self) -> Any:
        from torch import nn

        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 16, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )


CLASSIFIERS: tuple[type[DigitClassifier], ...] = (LogRegDigits, MLP16, MLP512, CNNDigits)


def classification_eval(limit: int | None = None) -> TaskEval:
    _, _, x, y = digits_split()
    n = len(x) if limit is None else min(limit, len(x))
    return TaskEval(
        task="Image Classification",
        metric="top-1 accuracy",
        dataset=f"{DIGITS_DATASET}: seeded held-out test split ({n} images)",
        inputs=list(x[:n]),
        expected=[int(v) for v in y[:n]],
        scorer=lambda pred, exp: float(
            np.mean([p[0] == e for p, e in zip(pred, exp, strict=True)])
        ),
    )


# --------------------------------------------------------------------------- detection

SCENE = 128  # scene side, pixels (a scanned form line); digits are drawn 2x (16x16)
DIGITS_PER_SCENE = (4, 12)  # inclusive range of digits pasted per scene
THRESHOLD = 0.25


def make_scenes(
    n: int, seed: int = 0
) -> list[tuple[np.ndarray, list[tuple[int, tuple[int, ...]]]]]:
    """Scenes of 4-12 held-out test digits, each upscaled 2x and pasted without overlap (2 px
    gap) on a black 128x128 canvas. Ground truth per digit: its label and the tight box
    (x0, y0, x1, y1), exclusive ends, of its pixels above 0.25."""
    _, _, x, y = digits_split()
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        canvas = np.zeros((SCENE, SCENE), dtype=np.float32)
        occupied: list[tuple[int, int]] = []
        truth: list[tuple[int, tuple[int, ...]]] = []
        lo, hi = DIGITS_PER_SCENE
        for _ in range(int(rng.integers(lo, hi + 1))):
            for _attempt in range(50):
                r, c = (int(v) for v in rng.integers(0, SCENE - 16, size=2))
                if all(abs(r - r2) >= 18 or abs(c - c2) >= 18 for r2, c2 in occupied):
                    break
            else:
                continue
            k = int(rng.integers(0, len(x)))
            glyph = np.kron(x[k], np.ones((2, 2), dtype=np.float32))
            canvas[r : r + 16, c : c + 16] = np.maximum(canvas[r : r + 16, c : c + 16], glyph)
            rows, cols = np.nonzero(glyph > THRESHOLD)
            box = (
                c + int(cols.min()),
                r + int(rows.min()),
                c + int(cols.max()) + 1,
                r + int(rows.max()) + 1,
            )
            occupied.append((r, c))
            truth.append((int(y[k]), box))
        scenes.append((canvas, truth))
    return scenes


def reading_order(detections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Detections in reading order: grouped into lines (a box whose vertical centre is within
    half a box height of the line's last box joins that line), lines top to bottom, each line
    left to right."""
    lines: list[list[dict[str, Any]]] = []
    for d in sorted(detections, key=lambda d: (d["box"][1] + d["box"][3]) / 2):
        top, bottom = d["box"][1], d["box"][3]
        centre, height = (top + bottom) / 2, max(bottom - top, 1)
        if lines:
            last = lines[-1][-1]["box"]
            if abs(centre - (last[1] + last[3]) / 2) <= height / 2:
                lines[-1].append(d)
                continue
        lines.append([d])
    return [d for line in lines for d in sorted(line, key=lambda d: d["box"][0])]


def iou(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def detection_f1(preds: list[list[dict[str, Any]]], truths: list[Any]) -> float:
    """Micro F1 over all scenes: a detection is a true positive when it has the right label
    and IoU >= 0.5 with a not-yet-matched ground-truth box."""
    tp = fp = fn = 0
    for dets, truth in zip(preds, truths, strict=True):
        left = list(truth)
        for det in sorted(dets, key=lambda d: -d["score"]):
            match = next(
                (t for t in left if t[0] == det["label"] and iou(t[1], det["box"]) >= 0.5), None
            )
            if match is None:
                fp += 1
            else:
                tp += 1
                left.remove(match)
        fn += len(left)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


class DigitDetector(ZooModel):
    """Connected components of the thresholded image (dilated once so strokes of one digit
    join), each component cropped, padded square, resized to 8x8 and classified."""

    task: ClassVar[str] = "Object Detection"
    classifier: ClassVar[type[DigitClassifier]]

    def prepare(self) -> None:
        self.clf = self.classifier()
        self.clf.load()

    def _load(self) -> None:
        import scipy.ndimage  # noqa: F401

    def predict(self, x: Any) -> list[dict[str, Any]]:
        from scipy import ndimage

        img = np.asarray(x, dtype=np.float32)
        if img.ndim != 2:
            raise ValueError(f"expected a 2-D grey image, got shape {img.shape}")
        if np.asarray(x).dtype == np.uint8 or img.max() > 2.0:
            img = img / 255.0
        mask = ndimage.binary_dilation(img > THRESHOLD, iterations=1)
        labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
        crops, boxes = [], []
        for sl in ndimage.find_objects(labels):
            if sl is None:
                continue
            ys, xs = sl
            core = img[ys, xs] > THRESHOLD
            if core.sum() < 6:
                continue
            rows, cols = np.nonzero(core)
            y0, y1 = ys.start + rows.min(), ys.start + rows.max() + 1
            x0, x1 = xs.start + cols.min(), xs.start + cols.max() + 1
            crop = img[y0:y1, x0:x1]
            side = max(crop.shape)
            square = np.zeros((side, side), dtype=np.float32)
            oy, ox = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
            square[oy : oy + crop.shape[0], ox : ox + crop.shape[1]] = crop
            crops.append(to_digit_image(square))
            boxes.append([int(x0), int(y0), int(x1), int(y1)])
        if not crops:
            return []
        probs = self.clf.probabilities(np.stack(crops))
        return [
            {"label": int(np.argmax(p)), "score": float(np.max(p)), "box": box}
            for p, box in zip(probs, boxes, strict=True)
        ]


def _detector(clf: type[DigitClassifier]) -> type[DigitDetector]:
    cls = type(
        f"Detector_{clf.__name__}",
        (DigitDetector,),
        {
            "name": clf.name.replace("digits-", "digitdet-"),
            "summary": f"connected components + {clf.summary}",
            "classifier": clf,
            "requires": (*clf.requires, "scipy.ndimage"),
        },
    )
    return cls


DETECTORS: tuple[type[DigitDetector], ...] = tuple(
    _detector(c) for c in (LogRegDigits, MLP16, CNNDigits)
)


def detection_eval(limit: int | None = None) -> TaskEval:
    n = 150 if limit is None else limit
    lo, hi = DIGITS_PER_SCENE
    scenes = make_scenes(n, seed=1)
    return TaskEval(
        task="Object Detection",
        metric="micro F1 (label match and IoU >= 0.5)",
        dataset=f"{n} {SCENE}x{SCENE} scenes of {lo}-{hi} held-out digits from "
        f"{DIGITS_DATASET} (profiles.zoo.digits.make_scenes, seed 1)",
        inputs=[s[0] for s in scenes],
        expected=[s[1] for s in scenes],
        scorer=detection_f1,
    )
