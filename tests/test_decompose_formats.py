"""Task-type registry, HuggingGPT / TaskBench formats, reply validation and input paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.decompose import InputPathError, InputPolicy, ReplyError, parse_graph_reply
from tasks.errors import GraphError
from tasks.formats import (
    content_type,
    graph_to_data,
    graph_to_hugginggpt,
    graph_to_taskbench,
    hugginggpt_to_graph,
    taskbench_to_graph,
)
from tasks.graph import TaskGraph, TaskNode
from tasks.registry import RegistryError, TaskType, default_registry, load_registry

DATA = Path(__file__).resolve().parent / "data" / "taskbench"


# ------------------------------------------------------------------------------ registry
def test_default_registry_is_taskbench_huggingface():  # type: ignore[no-untyped-def]
    reg = default_registry()
    assert len(reg.types) == 23
    vqa = reg.get("Visual Question Answering")
    assert vqa.inputs == ("image", "text") and vqa.outputs == ("text",)
    assert vqa.arg_keys() == ["image", "text"]
    assert reg.get("Question Answering").arg_keys() == ["text", "text2"]
    assert len(reg.links) == 225
    assert reg.can_feed("Image-to-Text", "Text-to-Speech")
    assert not reg.can_feed("Text-to-Speech", "Image Classification")  # audio -> image
    assert reg.feed_type("Text-to-Image", "Image Classification") == "image"
    with pytest.raises(KeyError, match="did you mean 'Image Classification'"):
        reg.get("Image Clasification")


def test_registering_extra_types():  # type: ignore[no-untyped-def]
    reg = default_registry().with_types(
        [{"name": "Video Classification", "inputs": ["video"], "outputs": ["text"]}]
    )
    assert "Video Classification" in reg and "Video Classification" not in default_registry()
    assert reg.can_feed("Text-to-Video", "Video Classification")  # by data types
    assert reg.can_feed("Video Classification", "Summarization")
    assert not reg.can_feed("Video Classification", "Image Classification")
    with pytest.raises(RegistryError, match="already exists"):
        reg.with_types([TaskType(name="Translation", inputs=("text",))])


def test_other_taskbench_tool_graphs_load():  # type: ignore[no-untyped-def]
    mm = load_registry(DATA / "multimedia" / "graph_desc.json")
    assert len(mm.types) == 40 and mm.can_feed("Image Downloader", "Image Colorizer")
    daily = load_registry(DATA / "dailylifeapis" / "graph_desc.json")
    assert daily.any_order and daily.can_feed("get_weather", "send_email")
    assert daily.get("get_weather").arg_keys() == ["location", "date"]


def test_bad_tool_graph_is_a_clear_error(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"nodes": [{"id": "A"}], "links": [{"source": "A", "target": "B"}]}))
    with pytest.raises(RegistryError, match="unknown task type 'B'"):
        load_registry(path)
    path.write_text("{")
    with pytest.raises(RegistryError, match="not valid JSON"):
        load_registry(path)


# ------------------------------------------------------------------------------ formats
def test_content_type_like_taskbench():  # type: ignore[no-untyped-def]
    assert content_type("example.jpg") == "image"
    assert content_type("'a.WAV'") == "audio"
    assert content_type("clip.mp4") == "video"
    assert content_type("https://x.org/a.jpg") == "url"
    assert content_type("Hello there") == "text"


def test_taskbench_round_trip():  # type: ignore[no-untyped-def]
    record = {
        "task_nodes": [
            {"task": "Automatic Speech Recognition", "arguments": ["example.wav"]},
            {"task": "Visual Question Answering", "arguments": ["example.jpg", "<node-0>"]},
        ],
        "task_links": [
            {"source": "Automatic Speech Recognition", "target": "Visual Question Answering"}
        ],
    }
    graph = taskbench_to_graph(record, default_registry())
    assert graph.node("node-1").args == {"image": "example.jpg", "text": "<node-0>"}
    assert graph.dependency_edges() == [("node-0", "node-1")]
    back = graph_to_taskbench(graph, default_registry(), record_id="7")
    assert back == {"id": "7", **record}


def test_taskbench_named_arguments_round_trip():  # type: ignore[no-untyped-def]
    daily = load_registry(DATA / "dailylifeapis" / "graph_desc.json")
    record = {
        "task_nodes": [
            {
                "task": "get_weather",
                "arguments": [
                    {"name": "location", "value": "Paris"},
                    {"name": "date", "value": "2023-08-01"},
                ],
            }
        ],
        "task_links": [],
    }
    graph = taskbench_to_graph(record, daily)
    assert graph.nodes[0].args == {"location": "Paris", "date": "2023-08-01"}
    assert graph_to_taskbench(graph, daily) == record


def test_taskbench_malformed_records_are_clear_errors():  # type: ignore[no-untyped-def]
    with pytest.raises(GraphError, match="non-empty list"):
        taskbench_to_graph({"task_nodes": {"step_1": {"task": "Translation"}}})
    with pytest.raises(GraphError, match="'<node-3>', which is not a node"):
        taskbench_to_graph({"task_nodes": [{"task": "Translation", "arguments": ["<node-3>"]}]})
    with pytest.raises(GraphError, match="itself"):
        taskbench_to_graph({"task_nodes": [{"task": "Translation", "arguments": ["<node-0>"]}]})
    with pytest.raises(GraphError, match="no node with that task"):
        taskbench_to_graph(
            {
                "task_nodes": [{"task": "Translation", "arguments": ["hi"]}],
                "task_links": [{"source": "Translation", "target": "Summarization"}],
            }
        )


def test_hugginggpt_round_trip():  # type: ignore[no-untyped-def]
    plan = [
        {"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "e1.jpg"}},
        {"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}},
        {"task": "object-detection", "id": 2, "dep": [-1], "args": {"image": "e1.jpg"}},
    ]
    graph = hugginggpt_to_graph(plan, default_registry())
    assert graph.node("node-1").task == "Text-to-Speech"
    assert graph.node("node-1").args == {"text": "<node-0>"}
    assert graph.dependency_edges() == [("node-0", "node-1")]
    assert graph_to_hugginggpt(graph) == plan


def test_hugginggpt_errors():  # type: ignore[no-untyped-def]
    with pytest.raises(GraphError, match="non-empty JSON list"):
        hugginggpt_to_graph({"task": "x"})  # type: ignore[arg-type]
    with pytest.raises(GraphError, match="cycle"):
        hugginggpt_to_graph(
            [
                {"task": "a", "id": 0, "dep": [1], "args": {}},
                {"task": "b", "id": 1, "dep": [0], "args": {}},
            ]
        )


def test_graph_to_data_is_the_problem_graph_shape():  # type: ignore[no-untyped-def]
    graph = TaskGraph(
        nodes=(
            TaskNode(id="a", task="Translation", args={"text": "hi"}),
            TaskNode(id="b", task="Summarization", args={"text": "<a>"}),
        )
    )
    data = graph_to_data(graph)
    assert data == {
        "nodes": [
            {"id": "a", "task": "Translation", "args": {"text": "hi"}},
            {"id": "b", "task": "Summarization", "args": {"text": "<a>"}},
        ],
        "edges": [["a", "b"]],
    }
    assert TaskGraph.model_validate(data) == TaskGraph(nodes=graph.nodes, edges=(("a", "b"),))


# ------------------------------------------------------------------------------ replies
def test_reply_validation_messages():  # type: ignore[no-untyped-def]
    reg = default_registry()
    ok = parse_graph_reply(
        json.dumps(
            {"nodes": [{"id": "n1", "task": "Translation", "args": {"text": "hola"}}], "edges": []}
        ),
        reg,
    )
    assert ok.nodes[0].task == "Translation"
    cases = {
        "": "empty",
        "[1, 2]": "JSON list",
        '{"nodes": []}': "nodes",
        '{"nodes": [{"id": "a", "task": "Translation", "code": "rm -rf"}]}': "code",
        '{"nodes": [{"id": "a", "task": "Translation", "args": {"x": {"y": 1}}}]}': "args",
        '{"nodes": [{"id": "a", "task": "Translation", "args": {"t": "<zz>"}}]}': "zz",
        '{"nodes": [{"id": "a", "task": "Translation"}], "edges": [["a", "b"]]}': "unknown node",
        '{"nodes": [{"id": "a", "task": "Translation"}], "edges": [["a"]]}': "pair",
        '{"nodes": [{"id": 1, "task": "Translation"}]}': "nodes.0.id",
    }
    for text, expected in cases.items():
        with pytest.raises(ReplyError, match=expected):
            parse_graph_reply(text, reg)


# ------------------------------------------------------------------------------ inputs
def test_input_policy(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    (tmp_path / "secret.jpg").write_text("x")
    policy = InputPolicy(tmp_path / "in")
    assert policy.resolve("photo.jpg") == (tmp_path / "in" / "photo.jpg").resolve()
    assert policy.resolve("sub/a.wav") == (tmp_path / "in" / "sub" / "a.wav").resolve()
    for bad, why in (
        ("../secret.jpg", r"'\.\.'"),
        ("/etc/passwd.txt", "absolute"),
        ("~/a.jpg", "'~'"),
        ("C:\\x\\a.jpg", "absolute"),
        ("a\\..\\..\\b.png", r"'\.\.'"),
    ):
        with pytest.raises(InputPathError, match=why):
            policy.resolve(bad)
    (tmp_path / "in" / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    with pytest.raises(InputPathError, match="outside the input directory"):
        policy.resolve("link.jpg")
    assert (
        InputPolicy(tmp_path / "in", allow_absolute=True).resolve("/etc/a.jpg")
        == Path("/etc/a.jpg").resolve()
    )
    graph = TaskGraph(
        nodes=(TaskNode(id="a", task="Image Classification", args={"image": "../secret.jpg"}),)
    )
    with pytest.raises(InputPathError, match="node 'a' argument 'image'"):
        policy.check_graph(graph)
    fine = TaskGraph(
        nodes=(
            TaskNode(
                id="a", task="Translation", args={"text": "see https://x.org/a/../b.jpg please"}
            ),
        )
    )
    assert policy.check_graph(fine) is fine  # text and URLs are not files


def test_planner_registry_adds_the_zoo_types():  # type: ignore[no-untyped-def]
    from tasks.registry import ZOO_TYPES, planner_registry

    reg = planner_registry()
    assert len(reg.types) == 23 + len(ZOO_TYPES)
    assert reg.can_feed("Text-to-Video", "Video Classification")
    assert reg.can_feed("Pose Estimation", "Summarization")
    assert reg.get("Video Chat").arg_keys() == ["video", "text"]
    assert not reg.can_feed("Image Classification", "Depth Estimation")  # text cannot feed image
