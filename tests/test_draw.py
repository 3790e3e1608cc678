"""Plan drawings: every label fits its box, nothing is cut or overlaps."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from planner import Plan, problem_from_data, solve
from planner.draw import LABEL_WIDTH, _wrap, draw_plan, plan_figure

LONG = "torchvision/FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1-a-very-long-tag"


def _plan() -> Plan:
    models = [
        {
            "id": LONG,
            "task": "Object Detection",
            "accuracy": 0.5,
            "latency_ms": 3459.4,
            "energy_j": 0.0123,
        },
        {
            "id": "m",
            "task": "Visual Question Answering",
            "accuracy": 0.9,
            "latency_ms": 1.0,
            "energy_j": 1.0,
        },
    ]
    graph = {
        "nodes": [
            {"id": "detect", "task": "Object Detection"},
            {"id": "detect2", "task": "Object Detection"},
            {"id": "answer", "task": "Visual Question Answering"},
        ],
        "edges": [["detect", "answer"], ["detect2", "answer"]],
    }
    return solve(problem_from_data({"graph": graph, "models": models}))


def test_wrap_keeps_every_character_and_bounds_lines() -> None:
    lines = _wrap(LONG)
    assert all(len(line) <= LABEL_WIDTH for line in lines)
    assert "".join(lines).replace(" ", "") == LONG.replace(" ", "")


def test_labels_are_whole_and_boxes_do_not_overlap(tmp_path: Path) -> None:
    plan = _plan()
    fig = plan_figure(plan)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        texts = [t for t in fig.axes[0].texts if t.get_text()]
        assert len(texts) == 3
        joined = [t.get_text().replace("\n", "") for t in texts]
        assert any(LONG in j for j in joined)
        assert any("3.46 s" in j and "12.3 mJ" in j for j in joined)
        boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in texts]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b)
    finally:
        plt.close(fig)
    out = draw_plan(plan, tmp_path / "p.png", "png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw_plan(plan, tmp_path / "p.svg", "svg").read_text().lstrip().startswith("<?xml")
    assert json.loads(plan.model_dump_json())["status"] == "optimal"
