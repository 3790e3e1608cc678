"""Derive profiles/data/taskbench_tool_retrieval.json from TaskBench (shared/data/taskbench).

Each TaskBench HuggingFace record whose gold decomposition has exactly one node gives a query
(the user's instruction) and its gold tool (the node's task); the tool descriptions come from
graph_desc.json. Run from the repository root:
    python scripts/make_tool_retrieval.py [../shared/data/taskbench/huggingface]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/taskbench/huggingface")
graph = json.loads((src / "graph_desc.json").read_text())
tools = {n["id"]: n["desc"] for n in graph["nodes"]}
queries = []
for line in (src / "data_sample.jsonl").read_text().splitlines():
    rec = json.loads(line)
    nodes = rec["task_nodes"]
    if isinstance(nodes, list) and len(nodes) == 1 and nodes[0].get("task") in tools:
        queries.append({"id": rec["id"], "text": rec["instruction"], "tool": nodes[0]["task"]})
out = {
    "source": "TaskBench (Shen et al., 2023), HuggingFace tools domain: graph_desc.json from "
    "microsoft/JARVIS@c62e0faac76c4a2907cabe2cfe4bbe5f2e613400, single-node records of "
    "data.json via laminair/JARVIS@59cd0fdaf5ac7e285636e377ef5221d914176079 (MIT / Apache-2.0)",
    "procedure": "records whose gold decomposition has exactly one node; query = instruction, "
    "label = that node's tool",
    "tools": tools,
    "queries": queries,
}
dest = (
    Path(__file__).resolve().parent.parent / "profiles" / "data" / "taskbench_tool_retrieval.json"
)
dest.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print(f"{len(queries)} queries over {len(tools)} tools -> {dest}")
