"""Task types and task graphs: the typed DAG of sub-tasks a request decomposes into."""

from tasks.errors import GraphError
from tasks.graph import TaskGraph, TaskNode, node_references

__all__ = ["GraphError", "TaskGraph", "TaskNode", "node_references"]
