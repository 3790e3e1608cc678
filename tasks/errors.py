"""Exceptions raised by the tasks package."""


class GraphError(ValueError):
    """A task graph is malformed (duplicate ids, unknown nodes, self-loops, cycles...)."""
