"""Model adapters: how a catalog row is run. ``load_adapter(profile_or_adapter) -> Runner``.

Three kinds, named by the row's ``adapter`` object:

* ``{"kind": "zoo", "name": "digits-cnn-32"}``: a built-in zoo model;
* ``{"kind": "python", "target": "package.module:function", "path": "dir", "options": {...},
  "load": "package.module:function"}``: a function of the user's own code, called as
  ``function(inputs, **options)`` with the node's JSON inputs, returning a JSON object (anything
  else is an error naming the model); ``path`` (optional) is a folder put on
  ``sys.path`` (relative to the catalog file when loaded from one); ``load`` (optional) is
  called once as ``load(**options)`` by ``load()``. The one python adapter: the profiler and
  ``planner run`` accept the same fields;
* ``{"kind": "http", "base_url": "http://host:port/v1", "model": "name", "api_key_env": "VAR",
  "endpoint": "chat" | "embeddings", "prompt": "Summarize: {text}"}``: an OpenAI-compatible
  server. ``chat`` posts ``/chat/completions`` and returns ``{"text": reply}``; ``embeddings``
  posts ``/embeddings`` with two texts and returns their cosine as ``{"similarity": s}``.
  The model runs on the server, so the client cannot measure its energy: a server that
  reports it (``usage.energy_j`` or a top-level ``energy_j`` in its answer) has it passed on
  as the output's ``server_energy_j``; otherwise runs keep the profile's energy and label it
  ``remote-unmeasured`` (`REMOTE_KINDS`).

* ``{"kind": "subprocess", "command": ["prog", "{input}", ...], ...}``: a command-line
  program (`profiles.subprocess_adapter`): bounded output, a timeout that kills it;
* ``{"kind": "onnx", "path": "model.onnx", ...}``: an ONNX Runtime session
  (`profiles.local_adapters`);
* ``{"kind": "transformers", "task": "text-classification", "model": "dir"}``: a Hugging Face
  ``transformers`` pipeline on a model already on disk (`profiles.local_adapters`; never
  downloads).

Any adapter may carry ``profile_inputs``: a list of JSON inputs the profiler times the model
on when the zoo has no evaluation set for its task (its accuracy is then kept from the row).

Nothing else is executed: no eval, no unpickling; only the module the user's catalog names
is imported."""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from profiles.safeio import InputError, parse_json

ADAPTER_KINDS = ("zoo", "python", "http", "subprocess", "onnx", "transformers")
#: Adapter kinds whose model runs elsewhere: this machine's meters cannot see its energy.
REMOTE_KINDS = ("http",)
#: Output key under which a remote adapter passes on the energy its server reported.
SERVER_ENERGY_KEY = "server_energy_j"


def is_remote(adapter: Any) -> bool:
    """True when a row's ``adapter`` runs its model on another machine (energy unmeasured)."""
    return isinstance(adapter, dict) and adapter.get("kind") in REMOTE_KINDS


class AdapterError(ValueError):
    """An adapter is malformed or its model failed; the message names the model."""


@runtime_checkable
class Runner(Protocol):
    """The one runner protocol (the profiler and the executor use it): a loaded-on-demand
    model; ``load()`` is idempotent (heavy work such as reading weights happens there),
    ``run`` takes and returns JSON-able dicts. Adapters built here also carry ``name`` and
    ``task``."""

    def load(self) -> None: ...

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- zoo


class ZooRunner:
    def __init__(self, name: str, fresh: bool = False) -> None:
        from profiles.zoo import MODEL_CLASSES, ZooError, get_model

        try:
            self.model = (
                MODEL_CLASSES[name]() if fresh and name in MODEL_CLASSES else get_model(name)
            )
        except ZooError as exc:
            raise AdapterError(str(exc)) from exc
        self.name = name
        self.task: str | None = self.model.task
        self.requires = self.model.requires

    def prepare(self) -> None:
        self.model.prepare()

    def load(self) -> None:
        self.model.load()

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.model.run(inputs)

    def predict(self, native: Any) -> Any:
        """Measured inference on a native evaluation input."""
        return self.model.predict(native)

    @property
    def child_cpu_s(self) -> float:
        """CPU seconds of the programs the model ran as child processes, so far."""
        return float(self.model.child_cpu_s)

    @property
    def licence(self) -> str:
        return str(self.model.licence)


# --------------------------------------------------------------------------- python


class PythonRunner:
    """The python adapter: ``target(inputs, **options)``; see the module docstring."""

    def __init__(
        self,
        target: str,
        path: str | None = None,
        name: str | None = None,
        task: str | None = None,
        options: dict[str, Any] | None = None,
        load: str | None = None,
    ) -> None:
        for what, value in (("target", target), ("load", load)):
            if value is None and what == "load":
                continue
            if not isinstance(value, str) or value.count(":") != 1:
                raise AdapterError(
                    f"python adapter: {what} must be 'module:function', got {value!r}"
                )
            module, func = value.split(":")
            if not all(part.isidentifier() for part in module.split(".")) or not all(
                part.isidentifier() for part in func.split(".")
            ):
                raise AdapterError(f"python adapter: {value!r} is not 'module:function'")
        if options is not None and not isinstance(options, dict):
            raise AdapterError(f"python adapter: 'options' must be an object, got {options!r}")
        self.target, self.path = target, path
        self.load_target = load
        self.options: dict[str, Any] = dict(options or {})
        self.name = name or target
        self.task = task
        self.requires: tuple[str, ...] = ()
        self._fn: Callable[..., Any] | None = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        pass

    def _resolve(self, target: str) -> Callable[..., Any]:
        module, func = target.split(":")
        if self.path and self.path not in sys.path:
            sys.path.insert(0, self.path)
        try:
            obj: Any = importlib.import_module(module)
        except ImportError as exc:
            raise AdapterError(
                f"model {self.name!r}: cannot import {module!r} ({exc}); "
                "install it or set the adapter's 'path'"
            ) from exc
        for part in func.split("."):
            obj = getattr(obj, part, None)
        if not callable(obj):
            raise AdapterError(f"model {self.name!r}: {module!r} has no function {func!r}")
        return obj

    def load(self) -> None:
        with self._lock:
            if self._fn is not None:
                return
            fn = self._resolve(self.target)
            if self.load_target:
                self._resolve(self.load_target)(**self.options)
            self._fn = fn

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        self.load()
        assert self._fn is not None
        out = self._fn(inputs, **self.options)
        if not isinstance(out, dict):
            raise AdapterError(
                f"model {self.name!r}: {self.target} returned "
                f"{type(out).__name__}, expected a dict (JSON object)"
            )
        return out


# --------------------------------------------------------------------------- http


#: Largest answer read from a model's HTTP server.
MAX_HTTP_ANSWER_BYTES = 20_000_000


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: urllib would forward the ``Authorization`` header (the
    API key) and the inputs to whatever origin the server names; a 3xx becomes an error."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


class HttpRunner:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        endpoint: str = "chat",
        prompt: str = "{text}",
        timeout_s: float = 60.0,
        max_tokens: int | None = None,
        name: str | None = None,
        task: str | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise AdapterError(
                f"http adapter: base_url must start with http:// or https://, got {base_url!r}"
            )
        if endpoint not in ("chat", "embeddings"):
            raise AdapterError(
                f"http adapter: endpoint must be 'chat' or 'embeddings', got {endpoint!r}"
            )
        if "{text}" not in prompt:
            raise AdapterError("http adapter: prompt must contain '{text}'")
        self.base_url = base_url.rstrip("/")
        self.model, self.api_key_env, self.endpoint = model, api_key_env, endpoint
        self.prompt, self.timeout_s, self.max_tokens = prompt, float(timeout_s), max_tokens
        self.name = name or model
        self.task = task
        self.requires: tuple[str, ...] = ()
        self._headers: dict[str, str] | None = None

    def prepare(self) -> None:
        pass

    def load(self) -> None:
        if self._headers is not None:
            return
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise AdapterError(
                    f"model {self.name!r}: environment variable "
                    f"{self.api_key_env} (the API key) is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._headers = headers

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        self.load()
        assert self._headers is not None
        req = urllib.request.Request(
            f"{self.base_url}{path}",
            data=json.dumps(body).encode(),
            headers=self._headers,
            method="POST",
        )
        try:
            with _NO_REDIRECTS.open(req, timeout=self.timeout_s) as resp:
                raw = resp.read(MAX_HTTP_ANSWER_BYTES + 1)
            if len(raw) > MAX_HTTP_ANSWER_BYTES:
                raise AdapterError(
                    f"model {self.name!r}: {self.base_url}{path} answered more than "
                    f"{MAX_HTTP_ANSWER_BYTES} bytes"
                )
            return parse_json(raw, f"the answer of {self.base_url}{path}")
        except InputError as exc:
            raise AdapterError(f"model {self.name!r}: {exc}") from exc
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise AdapterError(
                f"model {self.name!r}: {self.base_url}{path} answered HTTP {exc.code}: {detail}"
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise AdapterError(
                f"model {self.name!r}: cannot reach {self.base_url}{path}: "
                f"{getattr(exc, 'reason', exc)}"
            ) from exc
        except json.JSONDecodeError as exc:
            raise AdapterError(
                f"model {self.name!r}: {self.base_url}{path} did not answer JSON"
            ) from exc

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.endpoint == "embeddings":
            texts = inputs.get("texts") or [inputs.get("text1"), inputs.get("text2")]
            if not (
                isinstance(texts, list)
                and len(texts) == 2
                and all(isinstance(t, str) for t in texts)
            ):
                raise AdapterError(f"model {self.name!r}: embeddings take 'text1' and 'text2'")
            data = self._post("/embeddings", {"model": self.model, "input": texts})
            try:
                rows = sorted(data["data"], key=lambda d: int(d.get("index", 0)))
                a, b = (d["embedding"] for d in rows[:2])
            except (KeyError, TypeError, ValueError) as exc:
                raise AdapterError(f"model {self.name!r}: unexpected embeddings answer") from exc
            na = math.sqrt(sum(x * x for x in a)) or 1.0
            nb = math.sqrt(sum(x * x for x in b)) or 1.0
            sim = sum(x * y for x, y in zip(a, b, strict=False)) / (na * nb)
            return {"similarity": sim, "text": f"{sim:.4f}", **_server_energy(data)}
        text = inputs.get("text", inputs.get("prompt"))
        if not isinstance(text, str):
            raise AdapterError(f"model {self.name!r}: expected a 'text' input")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": self.prompt.replace("{text}", text)}],
        }
        if self.max_tokens:
            body["max_tokens"] = int(self.max_tokens)
        data = self._post("/chat/completions", body)
        try:
            reply = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise AdapterError(
                f"model {self.name!r}: unexpected chat answer {str(data)[:200]!r}"
            ) from exc
        return {"text": str(reply), **_server_energy(data)}


def _server_energy(answer: Any) -> dict[str, float]:
    """``{SERVER_ENERGY_KEY: joules}`` when the server's answer reports its energy."""
    if not isinstance(answer, dict):
        return {}
    usage = answer.get("usage")
    for found in (
        usage.get("energy_j") if isinstance(usage, dict) else None,
        answer.get("energy_j"),
    ):
        if isinstance(found, int | float) and not isinstance(found, bool) and found >= 0:
            return {SERVER_ENERGY_KEY: float(found)}
    return {}


# --------------------------------------------------------------------------- factory


def load_adapter(profile: Any, base_dir: str | Path | None = None, fresh: bool = False) -> Any:
    """A Runner for a `ModelProfile` (or a row dict, or a bare adapter dict). ``base_dir``
    resolves a python adapter's relative ``path``; ``fresh`` gives a zoo model its own
    instance (the profiler's choice) instead of the shared one."""
    adapter: Any
    if isinstance(profile, dict) and "kind" in profile:
        adapter, name, task = profile, None, None
    else:
        get = profile.get if isinstance(profile, dict) else lambda k: getattr(profile, k, None)
        adapter, name, task = get("adapter"), get("id"), get("task")
    if adapter is None:
        raise AdapterError(
            f"model {name!r} has no 'adapter': add one, e.g. "
            '{"kind": "python", "target": "module:function"}'
        )
    if not isinstance(adapter, dict):
        raise AdapterError(f"model {name!r}: 'adapter' must be an object")
    kind = adapter.get("kind")
    where = f"model {name!r}" if name else "adapter"
    allowed = {
        "zoo": {"kind", "name"},
        "python": {"kind", "target", "path", "options", "load"},
        "http": {
            "kind",
            "base_url",
            "model",
            "api_key_env",
            "endpoint",
            "prompt",
            "timeout_s",
            "max_tokens",
        },
        "subprocess": {
            "kind",
            "command",
            "stdin",
            "output_file",
            "output_suffix",
            "timeout_s",
            "max_output_bytes",
            "install",
        },
        "onnx": {"kind", "path", "input", "output", "labels", "providers"},
        "transformers": {"kind", "pipeline", "model", "options"},
    }
    if kind not in allowed:
        raise AdapterError(
            f"{where}: adapter kind must be one of {', '.join(ADAPTER_KINDS)}, got {kind!r}"
        )
    unknown = set(adapter) - allowed[kind] - {"profile_inputs"}
    if unknown:
        raise AdapterError(
            f"{where}: unknown {kind} adapter field(s) {sorted(unknown)}; "
            f"allowed: {sorted(allowed[kind])}"
        )
    kwargs = {k: v for k, v in adapter.items() if k not in ("kind", "profile_inputs")}
    try:
        if kind == "zoo":
            runner: Any = ZooRunner(str(kwargs["name"]), fresh=fresh)
            if task is not None and runner.task != task:
                raise AdapterError(
                    f"{where}: zoo model {runner.name!r} serves {runner.task!r}, not {task!r}"
                )
            return runner
        if kind == "python":
            path = kwargs.get("path")
            if path is not None and base_dir is not None and not Path(path).is_absolute():
                path = str((Path(base_dir) / path).resolve())
            return PythonRunner(
                kwargs["target"],
                path=path,
                name=name,
                task=task,
                options=kwargs.get("options"),
                load=kwargs.get("load"),
            )
        if kind == "subprocess":
            from profiles.subprocess_adapter import CommandError, SubprocessRunner

            try:
                return SubprocessRunner(**kwargs, name=name, task=task)
            except CommandError as exc:
                raise AdapterError(str(exc)) from exc
        if kind in ("onnx", "transformers"):
            from profiles import local_adapters

            path = kwargs.get("path")
            if isinstance(path, str) and base_dir is not None and not Path(path).is_absolute():
                kwargs["path"] = str((Path(base_dir) / path).resolve())
            if kind == "onnx":
                return local_adapters.OnnxRunner(**kwargs, name=name, task=task)
            model = kwargs.get("model")
            if isinstance(model, str) and base_dir is not None and not Path(model).is_absolute():
                local = (Path(base_dir) / model).resolve()
                if local.exists():  # a folder beside the catalog, else a cached hub name
                    kwargs["model"] = str(local)
            return local_adapters.TransformersRunner(**kwargs, name=name, task=task)
        return HttpRunner(**kwargs, name=name, task=task)
    except KeyError as exc:
        raise AdapterError(f"{where}: {kind} adapter needs the field {exc.args[0]!r}") from exc
    except TypeError as exc:
        raise AdapterError(f"{where}: bad {kind} adapter: {exc}") from exc
