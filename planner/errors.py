"""Exceptions of the planner, split by meaning. All of them are user-facing messages."""


class PlannerError(Exception):
    """Base class: the message says what is wrong and how to fix it."""


class ProblemError(PlannerError, ValueError):
    """A problem, plan or catalog file is malformed (CLI exit code 2)."""


class SolveError(PlannerError, RuntimeError):
    """A solver backend failed (missing binary, garbage answer)."""


class OutputError(PlannerError, ValueError):
    """An artifact cannot be written (the target is a device or FIFO, or holds NaN)."""


class SolveTimeout(SolveError):
    """A solver stopped at its time limit without an answer (what-if keeps the rest)."""
