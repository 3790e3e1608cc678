"""Training and caching small torch models (weights saved as state dicts, loaded with
``weights_only=True``: nothing but tensors is ever unpickled)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from profiles.zoo.base import cache_dir


def weights_path(name: str, recipe: str) -> Path:
    """Cache file of ``name`` trained by ``recipe`` (a string describing data + training)."""
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return cache_dir() / f"{name}-{digest}.pt"


def train_or_load(
    name: str,
    recipe: str,
    build: Callable[[], Any],
    train: Callable[[Any], None],
) -> Any:
    """Return ``build()`` with weights from the cache, training (and caching) them first if
    the cache has none for this recipe. The model is returned in eval mode."""
    import torch

    path = weights_path(name, recipe)
    model = build()
    if path.exists():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            model.eval()
            return model
        except Exception:  # corrupt/partial cache file: retrain below
            path.unlink(missing_ok=True)
    torch.manual_seed(0)
    model = build()
    model.train()
    with torch.enable_grad():
        train(model)
    model.eval()
    tmp = path.with_suffix(f".tmp{os.getpid()}-{id(model)}")
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return model


def fit_classifier(
    model: Any, x: Any, y: Any, epochs: int, lr: float = 3e-3, batch: int = 64
) -> None:
    """Adam + cross-entropy, seeded shuffles."""
    import torch

    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
