"""ONNX Runtime and Hugging Face `transformers` adapters, on models the tests build and save
locally (nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from profiles.adapters import load_adapter
from profiles.local_adapters import LocalModelError, OnnxRunner, TransformersRunner


def _onnx_classifier(path: Path, weights: np.ndarray) -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(weights.astype(np.float32), name="W")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weights.shape[0]])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, weights.shape[1]])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_onnx_adapter_runs_a_saved_model(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = _onnx_classifier(tmp_path / "clf.onnx", np.array([[2.0, 0.0], [0.0, 2.0], [1, 1]]))
    catalog_dir = tmp_path
    row = {
        "id": "tiny-onnx",
        "task": "Tabular Classification",
        "adapter": {"kind": "onnx", "path": "clf.onnx", "labels": ["left", "right"]},
    }
    runner = load_adapter(row, base_dir=catalog_dir)
    assert isinstance(runner, OnnxRunner) and runner.path == str(path)
    out = runner.run({"features": [0.0, 3.0, 0.0]})  # a batch axis is added
    assert out["label"] == "right" and out["score"] > 0.99
    json.dumps(out)
    assert np.asarray(out["output"]).shape == (1, 2)
    with pytest.raises(LocalModelError, match="expected the input 'features'"):
        runner.run({"text": "x"})
    with pytest.raises(LocalModelError, match="no ONNX file"):
        load_adapter({"kind": "onnx", "path": str(tmp_path / "none.onnx")}).load()


def _tiny_bert(folder: Path) -> Path:
    transformers = pytest.importorskip("transformers")
    import torch

    words = ["good", "great", "fine", "bad", "awful", "poor", "the", "film", "was"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.mark.slow  # importing transformers dominates (~10-20 s on 2 cores)
def test_transformers_pipeline_from_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _tiny_bert(tmp_path / "tiny-bert")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    row = {
        "id": "tiny-sentiment",
        "task": "Text Classification",
        "adapter": {
            "kind": "transformers",
            "pipeline": "text-classification",
            "model": "tiny-bert",
        },
    }
    runner = load_adapter(row, base_dir=tmp_path)
    assert isinstance(runner, TransformersRunner) and runner.model == str(folder)
    out = runner.run({"text": "the film was great"})
    assert out["label"] in ("NEGATIVE", "POSITIVE") and 0.0 <= out["score"] <= 1.0
    json.dumps(out)
    # the random model is deterministic: the same text, the same answer
    assert runner.run({"text": "the film was great"}) == out


def test_transformers_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = load_adapter(
        {
            "id": "not-cached",
            "task": "Text Classification",
            "adapter": {
                "kind": "transformers",
                "pipeline": "text-classification",
                "model": "someone/model-that-is-not-cached",
            },
        }
    )
    with pytest.raises(LocalModelError, match=r"'not-cached'.*nothing is downloaded"):
        runner.load()
