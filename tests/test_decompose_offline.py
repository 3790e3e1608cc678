"""Offline decomposer (rules, no network), TaskBench metrics, and the CLI commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from planner.cli import main
from tasks.decompose import OfflineDecomposer
from tasks.decompose.offline import extract_literals, mask_literals, split_clauses
from tasks.errors import GraphError
from tasks.evaluate import evaluate, load_records, normalise_record, score
from tasks.formats import graph_to_taskbench
from tasks.registry import default_registry, load_registry

DATA = Path(__file__).resolve().parent / "data" / "taskbench"
HF = DATA / "huggingface" / "data_sample.jsonl"


def offline(registry=None) -> OfflineDecomposer:  # type: ignore[no-untyped-def]
    return OfflineDecomposer(registry=registry or default_registry(), similarity=None)


# ------------------------------------------------------------------------------ pieces
def test_extract_literals():  # type: ignore[no-untyped-def]
    text = (
        "I've got 'example.jpg' and a clip called talk.wav. Translate 'Don't stop "
        "now' and see https://example.com/a.png, please."
    )
    lits = extract_literals(text)
    assert [(lit.value, lit.kind) for lit in lits] == [
        ("example.jpg", "image"),
        ("talk.wav", "audio"),
        ("Don't stop now", "text"),
        ("https://example.com/a.png", "url"),
    ]
    masked = mask_literals(text, lits)
    assert len(masked) == len(text) and "Don't" not in masked and "I've" in masked


def test_split_clauses_marks_order_cues():  # type: ignore[no-untyped-def]
    clauses = split_clauses("Transcribe the audio, then summarize it. Finally make a video")
    texts = [c.text.strip() for c in clauses]
    assert texts == ["Transcribe the audio,", "then summarize it.", "Finally make a video"]
    assert [c.cue for c in clauses] == [False, True, True]


def test_short_file_names_keep_their_whole_placeholder():  # type: ignore[no-untyped-def]
    text = "Sharpen a.jpg and b.wav"
    masked = mask_literals(text, extract_literals(text))
    assert "IMGF" in masked and "AUDF" in masked and len(masked) == len(text)
    assert [n.task for n in offline().decompose("Sharpen a.jpg").nodes] == ["Image-to-Image"]


def test_after_doing_x_puts_x_first():  # type: ignore[no-untyped-def]
    clauses = split_clauses("Tag the entities in TXTF after summarizing it")
    assert [c.first for c in clauses] == [False, True]
    g = offline().decompose("Pick out the key entities in report.txt after summarizing it")
    assert [n.task for n in g.nodes] == ["Summarization", "Token Classification"]
    assert g.nodes[1].args["text"] == "<node-0>"


def _shape(request: str) -> tuple[list[str], set[tuple[str, str]]]:
    tb = graph_to_taskbench(offline().decompose(request), default_registry())
    links = {(str(lk["source"]), str(lk["target"])) for lk in tb["task_links"]}
    return [str(n["task"]) for n in tb["task_nodes"]], links


def test_references_to_earlier_outputs_are_not_new_tasks():  # type: ignore[no-untyped-def]
    # "the transcript" / "the summary" name what a step works on; "aloud" still asks for
    # speech although the user gave an audio file
    tasks, links = _shape(
        "Transcribe 'meeting.wav', then summarize the transcript and read the summary aloud"
    )
    assert tasks == ["Automatic Speech Recognition", "Summarization", "Text-to-Speech"]
    assert links == {
        ("Automatic Speech Recognition", "Summarization"),
        ("Summarization", "Text-to-Speech"),
    }


def test_questions_about_images_and_earlier_text():  # type: ignore[no-untyped-def]
    # no rule names a task: a question about a given image is visual QA, or document QA
    # when the file is a document
    assert _shape("Look at chart.png and tell me which bar is the tallest")[0] == [
        "Visual Question Answering"
    ]
    assert _shape("Scan invoice.png and tell me the total amount due")[0] == [
        "Document Question Answering"
    ]
    # a question about an earlier step's text stays text QA
    tasks, links = _shape(
        "Describe room.jpg and then answer 'Is there a window?' using the description"
    )
    assert tasks == ["Image-to-Text", "Question Answering"]
    assert links == {("Image-to-Text", "Question Answering")}
    # "answer it as a chatbot would" is a conversation, not a second QA step
    assert _shape("Translate 'Wo ist der Bahnhof?' to English and answer it as a chatbot would")[
        0
    ] == ["Translation", "Conversational"]


def test_a_two_step_request_named_against_the_data_flow_is_turned_round():  # type: ignore[no-untyped-def]
    tasks, links = _shape("Read aloud the text in sign.jpg")
    assert tasks == ["Image-to-Text", "Text-to-Speech"]
    assert links == {("Image-to-Text", "Text-to-Speech")}
    # with something of its own to read, speech stays first
    assert _shape("Read 'hello' aloud and caption sign.jpg")[0][0] == "Text-to-Speech"


# ------------------------------------------------------------------------------ graphs
def test_chain_with_arguments_and_links():  # type: ignore[no-untyped-def]
    g = offline().decompose(
        "I have an audio file 'meeting.wav'. Could you transcribe it, "
        "then translate the transcript into French and read it aloud?"
    )
    assert [n.task for n in g.nodes] == [
        "Automatic Speech Recognition",
        "Translation",
        "Text-to-Speech",
    ]
    assert g.nodes[0].args == {"audio": "meeting.wav"}
    # the target language is an argument too (TaskBench writes it as the second one)
    assert g.nodes[1].args == {"text": "<node-0>", "language": "French"}
    assert g.nodes[2].args == {"text": "<node-1>"}
    assert g.dependency_edges() == [("node-0", "node-1"), ("node-1", "node-2")]


def test_links_follow_the_tool_graph_types():  # type: ignore[no-untyped-def]
    # Text-to-Image produces an image: the question about it takes the image from node 0
    g = offline().decompose(
        "Generate an image of 'a red bicycle by the sea', then answer "
        "'what color is the sky?' about the picture."
    )
    assert [n.task for n in g.nodes] == ["Text-to-Image", "Visual Question Answering"]
    assert g.nodes[0].args == {"text": "a red bicycle by the sea"}
    assert g.nodes[1].args == {"image": "<node-0>", "text": "what color is the sky?"}


def test_single_tasks():  # type: ignore[no-untyped-def]
    d = offline()
    cases = {
        "Could you detect the objects in 'street.png'?": "Object Detection",
        "Please estimate the depth of 'room.jpg'": "Depth Estimation",
        "How similar are 'A cat sat.' and 'A cat was sitting.'?": "Sentence Similarity",
        "Can you remove the background noise from 'call.mp3'?": "Audio-to-Audio",
        "Find the named entities in 'Ada Lovelace met Babbage in London.'": "Token Classification",
    }
    for request, task in cases.items():
        assert [n.task for n in d.decompose(request).nodes] == [task], request


def test_no_keyword_falls_back_by_input_type():  # type: ignore[no-untyped-def]
    g = offline().decompose("example.wav")
    assert [n.task for n in g.nodes] == ["Automatic Speech Recognition"]


def test_semantic_fallback_is_used_only_without_keywords():  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def similarity(text: str, candidates: Sequence[str]) -> list[float]:
        seen.append(text)
        return [0.9 if c.startswith("Depth Estimation:") else 0.1 for c in candidates]

    d = OfflineDecomposer(similarity=similarity)
    g = d.decompose("Please help me with the photo 'x.jpg' from my holiday trip")
    assert [n.task for n in g.nodes] == ["Depth Estimation"]
    assert seen
    seen.clear()
    assert [n.task for n in d.decompose("Translate 'hola amigo'").nodes] == ["Translation"]
    assert not seen


def test_semantic_clauses_can_be_switched_on_with_the_hand_written_table():  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def similarity(text: str, candidates: Sequence[str]) -> list[float]:
        seen.append(text)
        return [0.9 if c.startswith("Depth Estimation:") else 0.1 for c in candidates]

    request = "Translate 'hola amigo'. Then look closely at the holiday photo 'x.jpg' for me"
    off = OfflineDecomposer(similarity=similarity)
    assert [n.task for n in off.decompose(request).nodes] == ["Translation"]
    on = OfflineDecomposer(similarity=similarity, semantic_clauses=True)
    assert [n.task for n in on.decompose(request).nodes] == ["Translation", "Depth Estimation"]
    assert seen


def test_empty_request_is_an_error():  # type: ignore[no-untyped-def]
    with pytest.raises(GraphError, match="empty"):
        offline().decompose("   ")


def test_output_is_data_only():  # type: ignore[no-untyped-def]
    g = offline().decompose('Summarize \'__import__("os").system("rm -rf /")\' please')
    assert g.nodes[0].args == {"text": '__import__("os").system("rm -rf /")'}


# ------------------------------------------------------------------------------ metrics
def test_score_counts_like_taskbench():  # type: ignore[no-untyped-def]
    gold = [(["A", "B", "Z"], [("A", "B")]), (["C"], [])]
    pred = [(["A", "C"], [("A", "C")]), (["C", "C"], [])]
    r = score(gold, pred, known_types=["A", "B", "C"])  # Z is not a task type: ignored
    assert (r.node.tp, r.node.fp, r.node.fn) == (2, 1, 1)
    assert r.node.f1 == pytest.approx(2 / 3)
    assert (r.link.tp, r.link.fp, r.link.fn) == (0, 1, 1)
    assert r.link.f1 == 0.0
    assert r.exact_match == 0.0  # ["C","C"] is not the multiset ["C"]
    same = score(gold, gold, known_types=["A", "B", "C"])
    assert same.node.f1 == 1.0 and same.link.f1 == 1.0 and same.exact_match == 1.0


def test_noisy_gold_records_are_normalised():  # type: ignore[no-untyped-def]
    raw = {json.loads(line)["id"]: json.loads(line) for line in HF.read_text().splitlines()}
    fixes = {
        rid: normalise_record(raw[rid])
        for rid in ("17353313", "17786563", "31069889", "30873919", "15499131", "32421407")
    }
    assert "dict" in fixes["17353313"][1][0] and fixes["17353313"][0].nodes
    assert any("string" in f for f in fixes["17786563"][1])
    rec, notes = fixes["31069889"]
    assert any("destination" in f for f in notes) and rec.links
    rec, notes = fixes["30873919"]
    assert any("node index" in f for f in notes)
    assert all(isinstance(s, str) and isinstance(t, str) for s, t in rec.links)
    assert any("self-link" in f for f in fixes["15499131"][1])
    assert all(s != t for s, t in fixes["15499131"][0].links)
    assert any("parameters" in f for f in fixes["32421407"][1])
    with pytest.raises(ValueError, match="instruction"):
        normalise_record({"id": "1", "task_nodes": []})


def test_load_records_skips_and_counts(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "d.jsonl"
    good = {
        "id": "1",
        "instruction": "Translate 'hi'",
        "task_nodes": [{"task": "Translation", "arguments": ["hi"]}],
        "task_links": [],
    }
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({"id": "2"}) + "\n\n")
    records, report = load_records(path)
    assert [r.id for r in records] == ["1"]
    assert report.total == 3 and report.used == 1 and len(report.skipped) == 2
    assert records[0].nodes == ("Translation",)


def test_split_halves_by_line_order():  # type: ignore[no-untyped-def]
    first, _ = load_records(HF, "first-half")
    second, _ = load_records(HF, "second-half")
    assert len(first) == 149 and len(second) == 149
    assert first[0].id == "33446682" and not {r.id for r in first} & {r.id for r in second}


def _run(path: Path, registry=None, learned: bool = False, split: str = "second-half"):  # type: ignore[no-untyped-def]
    reg = registry or default_registry()
    d = OfflineDecomposer(registry=reg, similarity=None, learned=learned)
    records, _ = load_records(path, split)
    result, _ = evaluate(
        records, lambda r: graph_to_taskbench(d.decompose(r.instruction), reg), reg.names
    )
    return result


def test_offline_quality_on_held_out_huggingface():  # type: ignore[no-untyped-def]
    """The keyword rules alone on data_sample's second half, which no rule was written from
    (measured 0.680 / 0.261 in earlier rounds, 0.68 / 0.26 now). The learned stage trains on
    that half, so it is left out here; its held-out score is the next test's. GPT-4 reaches
    0.815 / 0.547 in the TaskBench paper, gpt-3.5-turbo 0.695 / 0.334."""
    result = _run(HF)
    assert result.requests == 149 and result.failures == 0
    assert result.node.f1 >= 0.60
    assert result.link.f1 >= 0.24


def test_offline_quality_on_the_166_held_out_records():  # type: ignore[no-untyped-def]
    """TaskBench HuggingFace records from raw offsets 920k-1.15M of the published data.json,
    which neither the rules nor the learned stage saw. Measured (2026-12-02): rules alone
    node F1 0.711, link F1 0.341; with the learned stage 0.727 / 0.351; with character
    n-grams and the request's shape in the learned stage (2026-12-03) 0.743 / 0.361. Issue
    #15 asks for 0.75 / 0.40: NOT met; these floors guard against regressions."""
    heldout = DATA / "huggingface" / "heldout_920k_1150k.jsonl"
    result = _run(heldout, learned=True, split="all")
    assert result.requests == 166 and result.failures == 0
    assert result.node.f1 >= 0.735 and result.link.f1 >= 0.35


def test_offline_runs_on_other_tool_graphs():  # type: ignore[no-untyped-def]
    for domain, floor in (("multimedia", 0.25), ("dailylifeapis", 0.45)):
        reg = load_registry(DATA / domain / "graph_desc.json")
        result = _run(DATA / domain / "data_sample.jsonl", reg)
        assert result.failures == 0
        assert result.node.f1 >= floor, domain


# ------------------------------------------------------------------------------ CLI
def test_cli_decompose_json(capsys):  # type: ignore[no-untyped-def]
    code = main(
        [
            "decompose",
            "--no-semantic",
            "--json",
            "Caption 'photo.jpg' and then read the caption aloud",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["task"] for n in data["nodes"]] == ["Image-to-Text", "Text-to-Speech"]
    assert data["edges"] == [["node-0", "node-1"]]
    assert data["nodes"][0]["args"] == {"image": "photo.jpg"}


def test_cli_decompose_formats(capsys):  # type: ignore[no-untyped-def]
    assert (
        main(
            [
                "decompose",
                "--no-semantic",
                "--format",
                "hugginggpt",
                "--json",
                "Caption 'photo.jpg' and then read it aloud",
            ]
        )
        == 0
    )
    plan = json.loads(capsys.readouterr().out)
    assert plan[1] == {
        "task": "text-to-speech",
        "id": 1,
        "dep": [0],
        "args": {"text": "<GENERATED>-0"},
    }
    assert (
        main(
            [
                "decompose",
                "--no-semantic",
                "--format",
                "taskbench",
                "--json",
                "Caption 'photo.jpg' and then read it aloud",
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert record["task_nodes"][1] == {"task": "Text-to-Speech", "arguments": ["<node-0>"]}


def test_cli_decompose_errors(capsys, tmp_path: Path):  # type: ignore[no-untyped-def]
    assert main(["decompose", "--no-semantic", "Classify '../../etc/a.jpg'"]) == 2
    assert "contains '..'" in capsys.readouterr().err
    assert main(["decompose", "--no-semantic", "Classify the image /etc/shadow.png"]) == 2
    assert "absolute path" in capsys.readouterr().err
    assert main(["decompose", "--llm", "http://127.0.0.1:9/v1", "x"]) == 2
    assert "--llm-model" in capsys.readouterr().err
    assert (
        main(
            ["decompose", "--llm", "http://127.0.0.1:9/v1", "--model", "m", "--timeout", "0.5", "x"]
        )
        == 2
    )
    assert "failed after 3 attempt(s)" in capsys.readouterr().err
    assert main(["decompose", "--no-semantic", "--format", "yaml", "x"]) == 2
    assert main(["decompose", "--tool-graph", str(tmp_path / "none.json"), "x"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_eval_decompose(capsys, tmp_path: Path):  # type: ignore[no-untyped-def]
    preds = tmp_path / "p.jsonl"
    code = main(
        [
            "eval",
            "decompose",
            str(HF),
            "--no-semantic",
            "--split",
            "first-half",
            "--limit",
            "20",
            "--predictions",
            str(preds),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["requests"] == 20 and summary["tool_graph"] == "huggingface"
    assert 0 < summary["node"]["f1"] <= 1
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(lines) == 20 and set(lines[0]) == {"id", "task_nodes", "task_links"}
    assert lines[0]["id"] == "33446682"
    assert main(["eval", "decompose", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["eval", "decompose", str(HF), "--split", "middle"]) == 2


def test_zoo_types_are_decomposed_by_default(capsys):  # type: ignore[no-untyped-def]
    from tasks.registry import planner_registry

    d = offline(planner_registry())
    cases = {
        "Could you estimate the poses of the people in 'gym.jpg'?": ["Pose Estimation"],
        "Detect the ships with rotated boxes in the satellite image 'port.png'": [
            "Oriented Object Detection"
        ],
        "What happens at the end of the video 'talk.mp4'?": ["Video Chat"],
        "Make a video of 'a cat surfing'": ["Text-to-Video"],
    }
    for request, tasks in cases.items():
        assert [n.task for n in d.decompose(request).nodes] == tasks, request
    g = d.decompose("Classify the video 'match.mp4' and then summarize the label")
    assert [n.task for n in g.nodes] == ["Video Classification", "Summarization"]
    assert g.dependency_edges() == [("node-0", "node-1")]
    # the CLI uses them too; TaskBench scoring does not (its 23 types only)
    assert main(["decompose", "--no-semantic", "--json", "Find the pose keypoints in 'a.jpg'"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"][0]["task"] == "Pose Estimation"
    assert "Pose Estimation" not in default_registry()


# ----------------------------------------------------------------- hand-written requests
USER = Path(__file__).resolve().parent / "data"


def _user_suite(name: str):  # type: ignore[no-untyped-def]
    gold, pred = [], []
    for line in (USER / name).read_text().splitlines():
        case = json.loads(line)
        tasks, links = _shape(case["request"])
        gold.append((case["tasks"], [tuple(x) for x in case["links"]]))
        pred.append((tasks, sorted(links)))
    return score(gold, pred, default_registry().names)


def test_hand_written_requests_tuning_sets():  # type: ignore[no-untyped-def]
    """Requests phrased the way a user types them (tests/data/user_requests*.jsonl). Each set
    was written before the rule changes it then served: first as a held-out score, then as
    tuning data; every request of a tuning set decomposes exactly."""
    for name in (
        "user_requests.jsonl",
        "user_requests_heldout.jsonl",
        "user_requests_heldout2.jsonl",
        "user_requests_heldout3.jsonl",
    ):
        result = _user_suite(name)
        assert result.requests == 30 and result.exact_match == 1.0, name


def test_hand_written_requests_held_out_set():  # type: ignore[no-untyped-def]
    """The newest set (tests/data/user_requests_heldout4.jsonl), written before the last
    rule changes and not used to make them: 23 of 30 exact (22 before those changes, 20
    with the rules of the start of this work), node F1 0.886 (0.864, 0.814), link F1 0.815
    (0.815, 0.720)."""
    result = _user_suite("user_requests_heldout4.jsonl")
    assert result.requests == 30
    assert result.exact_match >= 0.76 and result.node.f1 >= 0.88 and result.link.f1 >= 0.81


@pytest.mark.parametrize(
    ("request_text", "task", "text"),
    [
        (
            "Summarize this text and read the summary aloud: The team meeting moves to "
            "Friday at noon. Please bring the quarterly figures.",
            "Summarization",
            "The team meeting moves to Friday at noon. Please bring the quarterly figures.",
        ),
        (
            "Translate this to Spanish: Hello, how are you today my friend?",
            "Translation",
            "Hello, how are you today my friend?",
        ),
        (
            "List the people and places in this memo: Maria Lopez flies to London on Friday.",
            "Token Classification",
            "Maria Lopez flies to London on Friday.",
        ),
    ],
)
def test_unquoted_text_after_a_colon_is_the_first_steps_input(
    request_text: str, task: str, text: str
) -> None:
    """Text handed over after a colon at the end of a request is an argument, and its own
    words ("read", "bring") add no step."""
    graph = OfflineDecomposer().decompose(request_text)
    first = graph.nodes[0]
    assert first.task == task
    assert first.args.get("text") == text


def test_an_instruction_after_a_colon_is_not_taken_as_text() -> None:
    graph = OfflineDecomposer().decompose(
        "Do this: summarize the text 'a long memo about the budget' and read it aloud"
    )
    assert [n.task for n in graph.nodes] == ["Summarization", "Text-to-Speech"]
    assert graph.nodes[0].args.get("text") == "a long memo about the budget"
