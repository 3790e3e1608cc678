"""`planner serve`: the HTTP service that plans and runs requests under a rolling per-slot
energy budget (the Energy Budget Tracker), with models kept resident between requests.

Modules: `config` (the service's settings), `schemas` (request and response bodies),
`store` (slot state in SQLite), `tracker` (the Energy Budget Tracker), `cache` (resident
models, LRU within a memory budget), `select` (the one call into selection), `runtime` (the
one adapter onto the executor), `admission` (bounded admission), `metrics` (Prometheus),
`service` (what each endpoint does, without HTTP) and `app` (the FastAPI application).
FastAPI, uvicorn and prometheus_client are imported only here (``pip install
'cost-aware-planner[serve]'``).
"""
