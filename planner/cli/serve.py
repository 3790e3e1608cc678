"""`planner serve`: the HTTP service (see `planner.serve`; FastAPI and uvicorn are imported
only when the command runs)."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import typer

from planner.errors import ProblemError


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        catalog: Path | None = typer.Option(
            None, "--catalog", help="Models the service plans and runs (default: the zoo's)."
        ),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback)."),
        port: int = typer.Option(8000, "--port", help="TCP port (0: any free port)."),
        slot_s: float = typer.Option(60.0, "--slot-s", help="Energy slot length, seconds."),
        slot_energy_j: float | None = typer.Option(
            None, "--slot-energy-j", help="Energy budget per slot, joules (default: none)."
        ),
        workers: int = typer.Option(2, "--workers", help="Worker slots shared by requests."),
        token_env: str | None = typer.Option(
            None,
            "--token-env",
            help="Environment variable holding the bearer token (required off loopback).",
        ),
        policy: str = typer.Option(
            "reject", "--policy", help="When no plan fits the slot: reject, degrade or queue."
        ),
        state_dir: Path | None = typer.Option(
            None, "--state-dir", help="Slot state and runs (default: user data folder)."
        ),
        input_dir: Path = typer.Option(
            Path("."), "--input-dir", help="File arguments must resolve inside it."
        ),
        memory_mb: float | None = typer.Option(
            None, "--memory-mb", help="Memory budget of resident models, MB (LRU beyond)."
        ),
        preload: bool = typer.Option(False, "--preload", help="Load every model at start."),
        max_inflight: int | None = typer.Option(
            None, "--max-inflight", help="Requests admitted at once (default 4 x workers)."
        ),
        request_threads: int | None = typer.Option(
            None,
            "--request-threads",
            help="Threads that plan and run admitted requests (default: --workers).",
        ),
        queue_max: int = typer.Option(16, "--queue-max", help="Requests queued (policy queue)."),
        request_timeout_s: float = typer.Option(
            30.0, "--request-timeout", help="Per request, seconds."
        ),
        max_body_bytes: int = typer.Option(
            1_000_000, "--max-body-bytes", help="Largest request body accepted."
        ),
        sample_s: float = typer.Option(0.1, "--sample-s", help="Energy sampling period, s."),
    ) -> None:
        """Serve /v1/plan, /v1/run, /v1/budget, /metrics and /healthz under a rolling
        per-slot energy budget, with models kept resident (docs at /docs)."""
        try:
            import uvicorn

            from planner.serve.app import build
            from planner.serve.config import POLICIES, ServeConfig
            from planner.serve.protocol import guarded_protocol
            from planner.serve.service import Service
        except ImportError as exc:
            raise ProblemError(
                f"planner serve needs FastAPI, uvicorn and prometheus_client ({exc}): "
                "pip install 'cost-aware-planner[serve]'"
            ) from exc
        from pydantic import ValidationError

        from planner.problem import format_validation_error

        if policy not in POLICIES:
            raise ProblemError(f"--policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        token = None
        if token_env is not None:
            token = os.environ.get(token_env, "").strip()
            if not token:
                raise ProblemError(
                    f"--token-env {token_env}: the environment variable is unset or empty; "
                    f"export {token_env}=SECRET first"
                )
        settings: dict[str, object] = {
            "catalog": catalog,
            "host": host,
            "port": port,
            "slot_s": slot_s,
            "workers": workers,
            "policy": policy,
            "token": token,
            "state_dir": state_dir,
            "input_dir": input_dir,
            "memory_mb": memory_mb,
            "preload": preload,
            "max_inflight": max_inflight,
            "request_threads": request_threads,
            "queue_max": queue_max,
            "request_timeout_s": request_timeout_s,
            "max_body_bytes": max_body_bytes,
            "sample_s": sample_s,
        }
        if slot_energy_j is not None:
            settings["slot_energy_j"] = slot_energy_j
        try:
            config = ServeConfig.model_validate(settings)
        except ValidationError as exc:
            raise ProblemError(format_validation_error(exc, "planner serve options")) from exc
        if catalog is not None and not catalog.exists():
            raise ProblemError(f"--catalog {catalog}: no such file")
        if not input_dir.is_dir():
            raise ProblemError(f"--input-dir {input_dir}: not a folder")
        service = Service(config)  # a bad catalog is named before the port is tried
        try:
            _check_port(host, port)
        except ProblemError:
            service.close()
            raise
        budget = "no limit" if slot_energy_j is None else f"{slot_energy_j:g} J"
        print(
            f"planner serve: http://{host}:{port} (docs /docs), {len(service.catalog)} models, "
            f"slot {slot_s:g} s, budget {budget}, policy {policy}, {workers} worker(s), "
            f"energy {getattr(service.counter, 'source', '?')}, state {service.state_dir}",
            file=sys.stderr,
            flush=True,
        )
        asgi = build(service)
        server = uvicorn.Server(
            uvicorn.Config(
                asgi,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                limit_concurrency=config.inflight_limit + config.queue_max + 64,
                timeout_keep_alive=5,
                # slow or non-reading clients are dropped; /healthz and refusals under
                # overload are answered by the protocol itself, before h11 and any task
                http=guarded_protocol(early=asgi.early),
                lifespan="on",
            )
        )
        # the event loop (accepting, /healthz) waits for the GIL behind the request and
        # worker threads after every socket call: a 0.05 ms switch interval instead of 5 ms
        # keeps it answering under a flood (benchmarks/results/serve_flood.md)
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        # and a full collection of the start-up heap (imports, catalog) holds the GIL for
        # tens of ms: moved out of the collector's way once, it is not walked again
        gc.collect()
        gc.freeze()
        server.run()
        if not server.started:
            raise ProblemError(
                f"could not serve on {host}:{port} (is the port in use, or the address not "
                "this machine's?); pick another --port"
            )


#: GIL switch interval of the server process (s).
SWITCH_INTERVAL_S = 0.00005


def _check_port(host: str, port: int) -> None:
    """Fail early, with one line, when ``host:port`` cannot be bound."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ProblemError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port "
                "(or stop what uses it)"
            ) from exc
