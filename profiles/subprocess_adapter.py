"""The ``subprocess`` adapter: a command-line model (how the Debian OCR, speech and
translation tools run), called as a separate program with bounded output and a timeout.

A catalog row names it as::

    {"kind": "subprocess",
     "command": ["tesseract", "{image}", "-", "--psm", "7"],   # argv, no shell
     "stdin": "{text}",            # optional: text written to the program's standard input
     "output_file": "audio",       # optional: the program writes {out}; returned as this key
     "output_suffix": ".wav",      # suffix of {out} (default ".out")
     "timeout_s": 30, "max_output_bytes": 1000000,
     "install": "apt-get install tesseract-ocr"}   # shown when the program is missing

``{name}`` in an argument or in ``stdin`` is replaced by the node's input ``name`` (strings
and numbers only; a missing input is an error naming it); ``{out}`` by a fresh file the
program should write. Without ``output_file`` the program's standard output is the model's
``{"text": ...}``. The program runs in its own process group: past ``timeout_s``, or once
its output passes ``max_output_bytes``, the whole group is killed and the error names the
model. The child's CPU time (user + system, from ``os.wait4``) of the last call is kept in
``last_child_cpu_s`` so the profiler can count it in the energy estimate (this process's
CPU time does not include it)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_OUTPUT_BYTES = 4 * 2**20
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CommandError(RuntimeError):
    """A command-line model is missing, timed out, wrote too much or failed; the message
    names the model and says how to fix it."""


def _fill(template: str, values: Mapping[str, Any], model: str) -> str:
    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise CommandError(
                f"model {model!r}: its command needs the input {key!r}, got {sorted(values)}"
            )
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise CommandError(
                f"model {model!r}: input {key!r} must be a string or number for the command "
                f"line, got {type(value).__name__}"
            )
        return str(value)

    return _FIELD.sub(sub, template)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_command(
    argv: Sequence[str],
    *,
    model: str,
    stdin_text: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    watch: Path | None = None,
    install: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, float]:
    """Run ``argv`` (no shell) and return ``(stdout, child_cpu_s)``.

    Standard output and error go to temporary files whose size is polled: once stdout (or
    the file ``watch``, the program's output file) passes ``max_output_bytes``, or the call
    passes ``timeout_s``, the program's whole process group is killed. A non-zero exit is an
    error quoting the end of its standard error."""
    if not argv:
        raise CommandError(f"model {model!r}: empty command")
    exe = argv[0]
    if shutil.which(exe) is None:
        hint = f"; install it: {install}" if install else ""
        raise CommandError(f"model {model!r}: the program {exe!r} is not installed{hint}")
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as inp,
    ):
        if stdin_text is not None:
            inp.write(stdin_text.encode("utf-8"))
            inp.seek(0)
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=inp if stdin_text is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                env=dict(env) if env is not None else None,
            )
        except OSError as exc:
            raise CommandError(f"model {model!r}: cannot start {exe!r}: {exc}") from exc
        deadline = time.monotonic() + timeout_s
        delay = 0.0005
        status, usage = 0, None
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                size = os.fstat(out.fileno()).st_size
                if watch is not None and watch.exists():
                    size = max(size, watch.stat().st_size)
                if size > max_output_bytes:
                    _kill_group(proc.pid)
                    proc.wait()
                    raise CommandError(
                        f"model {model!r}: {exe} wrote more than {max_output_bytes} bytes and "
                        "was stopped (raise the adapter's 'max_output_bytes' if that is right)"
                    )
                if time.monotonic() > deadline:
                    _kill_group(proc.pid)
                    proc.wait()
                    raise CommandError(
                        f"model {model!r}: {exe} did not finish within {timeout_s:g} s and was "
                        "killed (raise the adapter's 'timeout_s' if it needs longer)"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
        finally:
            if proc.returncode is None:  # interrupted: leave no orphan behind
                _kill_group(proc.pid)
                with contextlib.suppress(ChildProcessError):
                    proc.wait()
            else:
                _kill_group(proc.pid)  # grandchildren the program left running
        cpu = (usage.ru_utime + usage.ru_stime) if usage is not None else 0.0
        out.seek(0)
        data = out.read(max_output_bytes + 1)
        if proc.returncode != 0:
            err.seek(0, os.SEEK_END)
            err.seek(max(0, err.tell() - 400))
            tail = err.read().decode("utf-8", "replace").strip()
            raise CommandError(
                f"model {model!r}: {exe} exited with status {proc.returncode}"
                + (f": {tail}" if tail else "")
            )
        return data.decode("utf-8", "replace"), cpu


class SubprocessRunner:
    """A catalog row's ``subprocess`` adapter (see the module docstring)."""

    def __init__(
        self,
        command: Sequence[str],
        stdin: str | None = None,
        output_file: str | None = None,
        output_suffix: str = ".out",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        install: str | None = None,
        name: str | None = None,
        task: str | None = None,
    ) -> None:
        where = f"model {name!r}" if name else "subprocess adapter"
        if (
            isinstance(command, str)
            or not isinstance(command, Sequence)
            or not command
            or not all(isinstance(a, str) for a in command)
        ):
            raise CommandError(
                f"{where}: 'command' must be a non-empty list of strings (argv, no shell), "
                f"got {command!r}"
            )
        if _FIELD.search(command[0]):
            raise CommandError(f"{where}: the program name cannot be an input ({command[0]!r})")
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise CommandError(f"{where}: 'timeout_s' must be a positive number")
        if not (isinstance(max_output_bytes, int) and max_output_bytes > 0):
            raise CommandError(f"{where}: 'max_output_bytes' must be a positive integer")
        uses_out = any("{out}" in a for a in command)
        if output_file is not None and not uses_out:
            raise CommandError(f"{where}: 'output_file' needs '{{out}}' in the command")
        self.command = list(command)
        self.stdin, self.output_file, self.output_suffix = stdin, output_file, output_suffix
        self.timeout_s, self.max_output_bytes = float(timeout_s), max_output_bytes
        self.install = install
        self.name = name or command[0]
        self.task = task
        self.requires: tuple[str, ...] = ()
        self.last_child_cpu_s = 0.0
        self.child_cpu_s = 0.0

    @property
    def available(self) -> bool:
        return shutil.which(self.command[0]) is not None

    def prepare(self) -> None:
        pass

    def load(self) -> None:
        if not self.available:
            hint = f"; install it: {self.install}" if self.install else ""
            raise CommandError(
                f"model {self.name!r}: the program {self.command[0]!r} is not installed{hint}"
            )

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            raise CommandError(f"model {self.name!r}: inputs must be a JSON object")
        values: dict[str, Any] = dict(inputs)
        out_path: Path | None = None
        if self.output_file is not None:
            folder = inputs.get("output_dir")
            folder_path = Path(folder) if isinstance(folder, str) else None
            if folder_path is not None:
                folder_path.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f"{self.name}-", suffix=self.output_suffix, dir=folder_path
            )
            os.close(fd)
            out_path = Path(name)
            values["out"] = name
        argv = [self.command[0], *(_fill(a, values, self.name) for a in self.command[1:])]
        stdin_text = _fill(self.stdin, values, self.name) if self.stdin is not None else None
        try:
            text, self.last_child_cpu_s = run_command(
                argv,
                model=self.name,
                stdin_text=stdin_text,
                timeout_s=self.timeout_s,
                max_output_bytes=self.max_output_bytes,
                watch=out_path,
                install=self.install,
            )
            self.child_cpu_s += self.last_child_cpu_s
        except CommandError:
            if out_path is not None:
                out_path.unlink(missing_ok=True)
            raise
        if out_path is not None and self.output_file is not None:
            if out_path.stat().st_size == 0:
                out_path.unlink(missing_ok=True)
                raise CommandError(f"model {self.name!r}: {argv[0]} wrote nothing to {{out}}")
            return {self.output_file: str(out_path), "text": str(out_path)}
        return {"text": text.strip()}
