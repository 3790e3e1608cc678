"""Learned parts of the offline decomposer, trained locally from packaged TaskBench data.

`TaskSetModel` scores, for a request, how likely each task type belongs to its graph. It is
a TF-IDF bag of words, word pairs and character 3-5-grams over the request with its
literals masked (``IMGF`` for an image file...) and one logistic regression per task type,
fitted with plain numpy (`train`). The weights ship as ``tasks/data/taskset_model.json``;
``python -m tasks.decompose.learned`` rebuilds that file from
``tasks/data/taskbench_hf_train.jsonl``
(655 TaskBench HuggingFace records, offsets 0-920k of the published ``data.json``; see
``tasks/data/README.md``). Nothing is downloaded.

numpy is imported on first use, so importing this module costs nothing.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
MODEL_PATH = DATA / "taskset_model.json"
TRAIN_PATH = DATA / "taskbench_hf_train.jsonl"
#: Shorter requests are left to the rules (checked before the model file is even read, so
#: short requests never import numpy or load the weights).
MIN_WORDS = 25

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "and",
        "or",
        "in",
        "on",
        "for",
        "with",
        "my",
        "me",
        "i",
        "i'm",
        "i've",
        "it",
        "is",
        "be",
        "this",
        "that",
        "you",
        "your",
        "can",
        "could",
        "would",
        "will",
        "please",
        "some",
        "any",
        "as",
        "at",
        "by",
        "from",
        "into",
        "so",
        "do",
        "does",
        "did",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "also",
        "just",
        "there",
        "their",
        "them",
        "they",
        "we",
        "our",
        "us",
        "its",
    ]
)
#: Placeholder codes of masked literals become their own features.
_CODES = {
    "imagefile": "IMGF",
    "imgf": "IMGF",
    "audiofile": "AUDF",
    "audf": "AUDF",
    "videofile": "VIDF",
    "vidf": "VIDF",
    "textfile": "TXTF",
    "txtf": "TXTF",
    "weblink": "WEBL",
    "webl": "WEBL",
    "quote": "QQ",
    "qq": "QQ",
}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def features(masked: str) -> list[str]:
    """Words (stemmed, stop words out) and neighbouring word pairs of a masked request."""
    words = []
    for w in _WORD.findall(masked):
        low = w.lower()
        if low in _CODES:
            words.append(_CODES[low])
        elif low not in _STOP and len(low) > 1:
            words.append(_stem(low))
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


#: character n-grams are told apart from words by this prefix (their own block of the vector)
CHAR = "#"


def char_features(masked: str, low: int = 3, high: int = 5) -> list[str]:
    """Character 3- to 5-grams inside each word padded with spaces (as scikit-learn's
    ``char_wb``): they match spelling variants and word parts that words miss."""
    out: list[str] = []
    for w in masked.lower().split():
        w = f" {w} "
        for n in range(low, high + 1):
            if len(w) < n:
                break
            out.extend(CHAR + w[i : i + n] for i in range(len(w) - n + 1))
    return out


@dataclass
class TaskSetModel:
    """Per task type: P(type is in the request's graph | request words)."""

    tasks: list[str]
    vocab: dict[str, int]
    idf: list[float]
    weights: Any  # numpy array (len(vocab), len(tasks))
    bias: Any  # numpy array (len(tasks),)
    #: second stage: which candidate tasks (the rules' and the likely ones) to keep
    reranker: Reranker | None = None
    #: gold links of the training graphs: (source, target) -> count
    precedence: dict[tuple[str, str], int] | None = None
    #: a rule's task stays when the second stage gives it at least ``keep_at``; a task no rule
    #: named is added at ``add_at`` (both chosen by cross-validation on the training records)
    keep_at: float = 0.2
    add_at: float = 0.5
    #: only requests at least this long are adjusted: the training requests are chatty
    #: TaskBench ones, and on short plain requests the model removes tasks it should keep
    min_words: int = 25  # MIN_WORDS

    def select(
        self,
        masked: str,
        rule_tasks: Sequence[tuple[str, float]],
        kinds: set[str],
        allowed: set[str],
    ) -> list[str]:
        """The task types to keep, in the rules' order, then the added ones by probability."""
        if self.reranker is None or len(masked.split()) < self.min_words:
            return [t for t, _ in rule_tasks]
        probs = self.probabilities(masked)
        rows = candidate_rows(probs, rule_tasks, kinds, len(masked.split()), masked=masked)
        ruled = {t for t, _ in rule_tasks}
        kept = [
            t
            for t, f in rows
            if t in allowed
            and self.reranker.probability(f) >= (self.keep_at if t in ruled else self.add_at)
        ]
        rule_order = [t for t, _ in rule_tasks if t in kept]
        return rule_order + sorted(set(kept) - set(rule_order), key=lambda t: -probs[t])

    def insert_at(self, task: str, order: Sequence[str]) -> int:
        """Where a task missing from ``order`` fits best: the position that agrees with most
        training links (tasks before it that fed it, tasks after it that it fed)."""
        prec = self.precedence or {}
        best, at = -1.0, len(order)
        for i in range(len(order) + 1):
            agree = sum(prec.get((a, task), 0) for a in order[:i]) + sum(
                prec.get((task, b), 0) for b in order[i:]
            )
            if agree > best:
                best, at = agree, i
        return at

    def _vector(self, masked: str) -> Any:
        """TF-IDF (log counts) of the words and word pairs, and of the character n-grams,
        each block scaled to unit length."""
        import numpy as np

        x = np.zeros(len(self.vocab))
        for f in features(masked) + char_features(masked):
            k = self.vocab.get(f)
            if k is not None:
                x[k] += 1.0
        x = np.log1p(x) * np.asarray(self.idf)
        chars = getattr(self, "_chars", None)
        if chars is None or len(chars) != len(self.vocab):
            terms = sorted(self.vocab, key=self.vocab.__getitem__)
            chars = self._chars = np.array([t.startswith(CHAR) for t in terms], dtype=bool)
        for block in (chars, ~chars):
            norm = float(np.linalg.norm(x[block]))
            if norm:
                x[block] /= norm
        return x

    def probabilities(self, masked: str) -> dict[str, float]:
        import numpy as np

        z = self._vector(masked) @ self.weights + self.bias
        p = 1.0 / (1.0 + np.exp(-z))
        return {t: float(v) for t, v in zip(self.tasks, p, strict=True)}

    def to_data(self) -> dict[str, Any]:
        import numpy as np

        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        # rows whose weights are all tiny change no probability noticeably: left out (their
        # terms stay, with their idf, so the vector norm is the one the model was fitted on)
        strong = np.abs(np.asarray(self.weights)).max(axis=1) >= 0.02
        return {
            "about": "TF-IDF + one-vs-rest logistic regression over TaskBench HuggingFace "
            "requests; rebuild with: python -m tasks.decompose.learned",
            "tasks": self.tasks,
            "terms": terms,
            "idf": [round(v, 4) for v in self.idf],
            "bias": [round(float(v), 4) for v in self.bias],
            "weights": {
                str(i): [round(float(v), 3) for v in self.weights[i]]
                for i in range(len(terms))
                if strong[i]
            },
            "reranker": self.reranker.to_data() if self.reranker else None,
            "precedence": [[a, b, c] for (a, b), c in sorted((self.precedence or {}).items())],
            "keep_at": self.keep_at,
            "add_at": self.add_at,
            "min_words": self.min_words,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TaskSetModel:
        import numpy as np

        terms = list(data["terms"])
        return cls(
            tasks=list(data["tasks"]),
            vocab={t: i for i, t in enumerate(terms)},
            idf=list(data["idf"]),
            weights=_dense(data["weights"], len(terms), len(data["tasks"])),
            bias=np.asarray(data["bias"], dtype=float),
            reranker=Reranker.from_data(data["reranker"]) if data.get("reranker") else None,
            precedence={(a, b): int(c) for a, b, c in data.get("precedence", [])},
            keep_at=float(data.get("keep_at", 0.5)),
            add_at=float(data.get("add_at", 0.5)),
            min_words=int(data.get("min_words", 25)),
        )


def _dense(rows: dict[str, list[float]], n_terms: int, n_tasks: int) -> Any:
    import numpy as np

    w = np.zeros((n_terms, n_tasks))
    for i, row in rows.items():
        w[int(i)] = row
    return w


@dataclass
class Reranker:
    """Logistic regression over named features of one candidate task (`candidate_rows`)."""

    weights: dict[str, float]
    bias: float

    def probability(self, feats: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in feats.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_data(self) -> dict[str, Any]:
        return {
            "bias": round(self.bias, 4),
            "weights": {k: round(v, 4) for k, v in sorted(self.weights.items()) if abs(v) > 1e-4},
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Reranker:
        return cls({str(k): float(v) for k, v in data["weights"].items()}, float(data["bias"]))


def candidate_rows(
    probs: dict[str, float],
    rule_tasks: Sequence[tuple[str, float]],
    kinds: set[str],
    n_words: int,
    min_prob: float = 0.05,
    masked: str = "",
) -> list[tuple[str, dict[str, float]]]:
    """One feature dict per candidate task: the rules' tasks and any the first stage finds at
    least ``min_prob`` likely. Features: the first stage's probability, whether and how
    strongly a rule named the task, which other tasks the rules named, the input kinds given,
    and the request's length."""
    ruled = dict(rule_tasks)
    names = [t for t in probs if t in ruled or probs[t] >= min_prob]
    rows = []
    n_rules = min(len(ruled), 4)
    shape = request_shape(masked) if masked else {}
    for t in names:
        p = min(max(probs[t], 1e-4), 1 - 1e-4)
        f: dict[str, float] = {
            f"t={t}": 1.0,
            "p": p,
            "logit": math.log(p / (1 - p)),
            f"p|t={t}": p,
            f"nrules={n_rules}": 1.0,
        }
        if t in ruled:
            f["rule"] = 1.0
            f["rule_score"] = ruled[t]
            f[f"rule|t={t}"] = 1.0
            f[f"rule|nrules={n_rules}"] = 1.0
            f["rule*logit"] = f["logit"]
        else:
            f[f"norule|nrules={n_rules}"] = 1.0
        for u in ruled:
            if u != t:
                f[f"with={u}|t={t}"] = 1.0
        for k in kinds:
            f[f"kind={k}|t={t}"] = 1.0
        side = "rule" if t in ruled else "norule"
        for k, v in shape.items():
            f[f"{k}|{side}"] = v
        if shape:
            gap = max(-2, min(3, shape["steps"] - len(ruled)))
            f[f"gap={gap}|{side}"] = 1.0
        rows.append((t, f))
    return rows


_CUE = re.compile(
    r"\b(?:then|after(?:wards?)?|next|finally|once|subsequently|following|lastly|"
    r"also|additionally|furthermore|moreover|second(?:ly)?|third|first(?:ly)?)\b",
    re.IGNORECASE,
)


def request_shape(masked: str) -> dict[str, float]:
    """How many steps a request seems to ask for: its sentences, order words ("then",
    "finally"...) and questions, as features of the second stage."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", masked.strip()) if len(s.split()) >= 3]
    cues = len(_CUE.findall(masked))
    steps = min(6, max(len(sentences), cues + 1))
    return {
        f"sent={min(len(sentences), 6)}": 1.0,
        f"cues={min(cues, 4)}": 1.0,
        f"q={min(masked.count('?'), 3)}": 1.0,
        "steps": float(steps),
    }


def fit_reranker(
    rows: Sequence[dict[str, float]], labels: Sequence[int], l2: float = 1e-3, steps: int = 400
) -> Reranker:
    import numpy as np

    keys = sorted({k for r in rows for k in r})
    index = {k: i for i, k in enumerate(keys)}
    x = np.zeros((len(rows), len(keys)), dtype=np.float32)
    for i, r in enumerate(rows):
        for k, v in r.items():
            x[i, index[k]] = v
    y = np.asarray(labels, dtype=float).reshape(-1, 1)
    w, b = _fit_logistic(x, y, l2, steps, lr=0.05)
    return Reranker({k: float(w[i, 0]) for k, i in index.items()}, float(b[0]))


def _fit_logistic(x: Any, y: Any, l2: float, steps: int, lr: float = 0.05) -> tuple[Any, Any]:
    """Weights and biases of independent logistic regressions (one per column of ``y``):
    full-batch Adam on the mean log loss plus ``l2`` times the squared weights."""
    import numpy as np

    x = np.asarray(x, dtype=np.float32)  # one precision throughout: no copies per step
    y = np.asarray(y, dtype=np.float32)
    n = x.shape[0]
    w = np.zeros((x.shape[1], y.shape[1]), dtype=np.float32)
    rate = y.mean(0)
    b = np.log((rate + 1e-3) / (1 - rate + 1e-3)).astype(np.float32)
    mw, vw, mb, vb = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b))
    beta1, beta2 = 0.9, 0.999
    for step in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        gw = x.T @ (p - y) / n + 2 * l2 * w
        gb = (p - y).mean(0)
        mw = beta1 * mw + (1 - beta1) * gw
        vw = beta2 * vw + (1 - beta2) * gw**2
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb**2
        c1, c2 = 1 - beta1**step, 1 - beta2**step
        w -= lr * (mw / c1) / (np.sqrt(vw / c2) + 1e-8)
        b -= lr * (mb / c1) / (np.sqrt(vb / c2) + 1e-8)
    return w, b


def train(
    texts: Sequence[str],
    labels: Sequence[Iterable[str]],
    tasks: Sequence[str],
    l2: float = 1e-5,
    steps: int = 300,
    min_df: int = 2,
) -> TaskSetModel:
    """Fit the task-set model on masked requests and their gold task sets."""
    import numpy as np

    docs = [features(t) + char_features(t) for t in texts]
    df: dict[str, int] = {}
    for d in docs:
        for f in set(d):
            df[f] = df.get(f, 0) + 1
    terms = sorted(f for f, c in df.items() if c >= min_df)
    n = len(docs)
    idf = [math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms]
    model = TaskSetModel(
        list(tasks), {t: i for i, t in enumerate(terms)}, idf, np.zeros((len(terms), 1)), None
    )
    x = np.stack([model._vector(t).astype(np.float32) for t in texts])
    y = np.array([[1.0 if task in set(lab) else 0.0 for task in tasks] for lab in labels])
    model.weights, model.bias = _fit_logistic(x, y, l2, steps, lr=0.1)
    return model


def masked_request(request: str) -> str:
    from tasks.decompose.offline import extract_literals, mask_literals

    return mask_literals(request, extract_literals(request))


def training_data(path: Path = TRAIN_PATH) -> tuple[list[str], list[list[str]], list[Any]]:
    """Masked instructions, gold task names and the gold records of a TaskBench file."""
    from tasks.evaluate import load_records

    records, _ = load_records(path)
    texts = [masked_request(r.instruction) for r in records]
    return texts, [list(r.nodes) for r in records], records


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> TaskSetModel | None:
    """The shipped model, or None when the file is missing (the rules then work alone)."""
    p = Path(path)
    if not p.is_file():
        return None
    return TaskSetModel.from_data(json.loads(p.read_text(encoding="utf-8")))


def rule_outputs(records: Sequence[Any]) -> list[tuple[list[tuple[str, float]], set[str], str]]:
    """What the keyword rules alone find in each record: (task, score) in order, the input
    kinds, the masked request."""
    from tasks.decompose.offline import OfflineDecomposer

    rules = OfflineDecomposer(learned=False)
    out = []
    for r in records:
        ordered, _, literals, masked = rules.plan(r.instruction)
        out.append(([(m.task, m.score) for m in ordered], {lit.kind for lit in literals}, masked))
    return out


def reranker_rows(
    probs: Sequence[dict[str, float]],
    rules: Sequence[tuple[list[tuple[str, float]], set[str], str]],
    labels: Sequence[Sequence[str]],
) -> tuple[list[dict[str, float]], list[int]]:
    rows, ys = [], []
    for p, (ruled, kinds, masked), gold in zip(probs, rules, labels, strict=True):
        for t, f in candidate_rows(p, ruled, kinds, len(masked.split()), masked=masked):
            rows.append(f)
            ys.append(int(t in gold))
    return rows, ys


def out_of_fold(
    texts: Sequence[str], labels: Sequence[Sequence[str]], tasks: Sequence[str], folds: int = 5
) -> list[dict[str, float]]:
    """First-stage probabilities for each record from a model that did not see it."""
    probs: list[dict[str, float]] = [{} for _ in texts]
    for k in range(folds):
        train_idx = [i for i in range(len(texts)) if i % folds != k]
        m = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], tasks)
        for i in range(k, len(texts), folds):
            probs[i] = m.probabilities(texts[i])
    return probs


def build(out: Path = MODEL_PATH) -> TaskSetModel:
    """Train both stages on the packaged training records and write the model file."""
    from tasks.registry import default_registry

    texts, labels, records = training_data()
    tasks = list(default_registry().names)
    rules = rule_outputs(records)
    oof = out_of_fold(texts, labels, tasks)  # the second stage learns from honest scores
    rows, ys = reranker_rows(oof, rules, labels)
    model = train(texts, labels, tasks)
    model.reranker = fit_reranker(rows, ys)
    prec: dict[tuple[str, str], int] = {}
    for r in records:
        for a, b in r.links:
            if a in tasks and b in tasks:
                prec[(a, b)] = prec.get((a, b), 0) + 1
    model.precedence = prec
    model.keep_at, model.add_at, model.min_words = 0.3, 0.5, MIN_WORDS
    out.write_text(json.dumps(model.to_data(), separators=(",", ":")) + "\n", encoding="utf-8")
    load_model.cache_clear()
    return model


if __name__ == "__main__":  # pragma: no cover - a build step
    m = build()
    print(f"wrote {MODEL_PATH}: {len(m.vocab)} terms x {len(m.tasks)} task types")
