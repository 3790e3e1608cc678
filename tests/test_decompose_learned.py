"""The learned part of the offline decomposer and the data it is trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.decompose import OfflineDecomposer
from tasks.decompose.learned import (
    CHAR,
    MODEL_PATH,
    TRAIN_PATH,
    TaskSetModel,
    candidate_rows,
    char_features,
    features,
    fit_reranker,
    load_model,
    request_shape,
    train,
)
from tasks.evaluate import load_records
from tasks.registry import default_registry

pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "taskbench" / "huggingface" / "data_sample.jsonl"
HELDOUT = ROOT / "tests" / "data" / "taskbench" / "huggingface" / "heldout_920k_1150k.jsonl"


def test_training_and_held_out_records_are_apart():  # type: ignore[no-untyped-def]
    train_lines = TRAIN_PATH.read_text(encoding="utf-8").splitlines()
    sample_lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(train_lines) == 655
    assert train_lines[: len(sample_lines)] == sample_lines  # the data_sample prefix, verbatim
    train_ids = [json.loads(x)["id"] for x in train_lines]
    held_ids = [json.loads(x)["id"] for x in HELDOUT.read_text(encoding="utf-8").splitlines()]
    assert len(held_ids) == 166
    assert len(set(train_ids)) == len(train_ids) and not set(train_ids) & set(held_ids)
    records, report = load_records(TRAIN_PATH)
    assert len(records) == 655 and not report.skipped


def test_features_read_placeholders_and_word_pairs():  # type: ignore[no-untyped-def]
    f = features("Transcribe AUDIOFILE and summarize the transcripts")
    assert "AUDF" in f and "transcribe AUDF" in f and "AUDF summarize" in f
    assert "transcript" in f and "and" not in f and "the" not in f  # stemmed, no stop words


def test_character_ngrams_are_padded_word_pieces():  # type: ignore[no-untyped-def]
    f = char_features("Dub it")
    assert f == [
        CHAR + g for g in (" du", "dub", "ub ", " dub", "dub ", " dub ", " it", "it ", " it ")
    ]
    assert not set(f) & set(features("Dub it"))  # their own block, never a word


def test_character_ngrams_reach_unseen_word_forms():  # type: ignore[no-untyped-def]
    # "captioning" and "translating" never occur in training; their pieces do
    texts = ["caption IMGF", "captions for IMGF", "translate QQ", "translated QQ"]
    labels = [["Image-to-Text"], ["Image-to-Text"], ["Translation"], ["Translation"]]
    model = train(texts * 5, labels * 5, ["Image-to-Text", "Translation"], min_df=1)
    assert model.probabilities("captioning")["Image-to-Text"] > 0.6
    assert model.probabilities("translating")["Translation"] > 0.6


def test_request_shape_counts_steps():  # type: ignore[no-untyped-def]
    one = request_shape("Could you caption IMGF for me?")
    three = request_shape(
        "I have IMGF here. First caption it, then translate the caption. Finally read it aloud."
    )
    assert one["steps"] == 1.0 and one["q=1"] == 1.0
    assert three["steps"] == 4.0 and three["cues=3"] == 1.0 and three["sent=3"] == 1.0
    row = dict(
        candidate_rows(
            {"A": 0.4}, [], set(), 20, masked="Do this now. Then do that. And some more."
        )
    )
    assert row["A"]["gap=3|norule"] == 1.0


def test_train_learns_an_obvious_association():  # type: ignore[no-untyped-def]
    texts = ["caption the photo IMGF", "describe IMGF please", "translate QQ now", "translate QQ"]
    labels = [["Image-to-Text"], ["Image-to-Text"], ["Translation"], ["Translation"]]
    model = train(texts * 5, labels * 5, ["Image-to-Text", "Translation"], min_df=1)
    p = model.probabilities("translate QQ into French")
    assert p["Translation"] > 0.7 > p["Image-to-Text"]
    again = TaskSetModel.from_data(json.loads(json.dumps(model.to_data())))
    assert again.probabilities("describe IMGF") == pytest.approx(
        model.probabilities("describe IMGF"), abs=1e-3
    )


def test_reranker_keeps_what_the_features_support():  # type: ignore[no-untyped-def]
    probs = {"A": 0.9, "B": 0.02, "C": 0.6}
    rows = candidate_rows(probs, [("A", 2.0), ("B", 1.0)], {"image"}, 30)
    assert [t for t, _ in rows] == ["A", "B", "C"]
    assert rows[0][1]["rule"] == 1.0 and "rule" not in rows[2][1]
    assert rows[2][1]["with=A|t=C"] == 1.0 and rows[0][1]["kind=image|t=A"] == 1.0
    ranker = fit_reranker([f for _, f in rows] * 10, [1, 0, 1] * 10)
    assert ranker.probability(rows[0][1]) > 0.5 > ranker.probability(rows[1][1])


def test_shipped_model_is_used_only_on_long_requests():  # type: ignore[no-untyped-def]
    model = load_model(str(MODEL_PATH))
    assert model is not None and model.reranker is not None
    assert set(model.tasks) == set(default_registry().names)
    short = [("Image-to-Text", 2.0), ("Translation", 3.0)]
    assert model.select("Caption IMGF and translate it", short, {"image"}, set(model.tasks)) == [
        "Image-to-Text",
        "Translation",
    ]
    long = (
        "I've got an image of a document named IMAGEFILE and there's a question on my mind "
        "about its content. Could you help me figure out what the main topic of the document "
        "is and then give me a short spoken summary of the answer?"
    )
    d = OfflineDecomposer()
    g = d.decompose(long.replace("IMAGEFILE", "'scan.jpg'"))
    assert "Document Question Answering" in [n.task for n in g.nodes]
    assert OfflineDecomposer(learned=False).decompose("Caption photo.jpg").nodes[0].task == (
        "Image-to-Text"
    )


def test_insert_at_follows_the_training_links():  # type: ignore[no-untyped-def]
    model = load_model(str(MODEL_PATH))
    assert model is not None
    # segmentation usually feeds document QA in the training graphs, so it goes first
    order = ["Document Question Answering", "Summarization"]
    assert model.insert_at("Image Segmentation", order) == 0
    assert model.insert_at("Text-to-Speech", order) == 2
