"""Regenerate the small excerpts in tests/data from the shared public data (deterministic).

    python tests/data/make_excerpts.py [--data ../shared/data]

Every excerpt keeps its source's exact format (same header, same key order, rows or
configurations copied unchanged); only a subset of rows is kept. See README.md here.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

TIMM_MODELS = (
    "resnet50",
    "mobilenetv3_large_100",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_base_patch16_224",
    "eva_giant_patch14_560",
    "vit_so400m_patch14_siglip_378",
)
TV_WEIGHTS_PREFIX = (
    "AlexNet_",
    "ResNet50_Weights",
    "MobileNet_V3_Large_Weights",
    "ResNet50_QuantizedWeights",
    "VGG16_Weights",
    "Raft_Small",
    "R3D_18",
    "DeepLabV3_",
    "FCN_",
    "LRASPP_",
    "FasterRCNN_",
    "FCOS_",
    "KeypointRCNN_",
    "MaskRCNN_",
    "RetinaNet_",
    "SSD300_",
    "SSDLite320_",
)


def _csv_subset(src: Path, dst: Path, keep: Callable[[list[str]], bool]) -> None:
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        row = next(csv.reader(io.StringIO(line)))
        if keep(row):
            out.append(line)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(out), encoding="utf-8")


def _v3_subset(src: Path, dst: Path) -> None:
    """Keep, per (model, GPU), the single-node runs on the fewest GPUs at the two smallest
    batch sizes (the importer picks among these; the rest are not needed)."""
    data = json.loads(src.read_text(encoding="utf-8"))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in data["configurations"]:
        groups.setdefault((c["model_id"], c["gpu_model"]), []).append(c)
    keep: list[dict[str, Any]] = []
    for configs in groups.values():
        fewest = min(c["num_gpus"] for c in configs)
        configs = [c for c in configs if c["num_gpus"] == fewest]
        batches = sorted({int(c.get("max_num_seqs", c.get("batch_size", 0))) for c in configs})
        keep.extend(
            c for c in configs if int(c.get("max_num_seqs", c.get("batch_size", 0))) in batches[:2]
        )
    order = {id(c): i for i, c in enumerate(data["configurations"])}
    keep.sort(key=lambda c: order[id(c)])
    data["configurations"] = keep
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    src = args.data / "profiles-public"
    dst = HERE / "profiles-public"
    timm = src / "timm"
    _csv_subset(
        timm / "results-imagenet.csv",
        dst / "timm" / "results-imagenet.csv",
        lambda r: r[0].split(".")[0] in TIMM_MODELS,
    )
    for bench in sorted(timm.glob("benchmark-infer-*.csv")):
        _csv_subset(bench, dst / "timm" / bench.name, lambda r: r[0] in TIMM_MODELS)
    _csv_subset(
        src / "torchvision" / "torchvision_weights_meta.csv",
        dst / "torchvision" / "torchvision_weights_meta.csv",
        lambda r: r[0].startswith(TV_WEIGHTS_PREFIX),
    )
    (dst / "ultralytics").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        src / "ultralytics" / "yolo11_performance.csv",
        dst / "ultralytics" / "yolo11_performance.csv",
    )
    v1 = dst / "mlenergy" / "v1-legacy"
    v1.mkdir(parents=True, exist_ok=True)
    for name in ("A100_chat_benchmark.csv", "score.csv", "models.json"):
        shutil.copyfile(src / "mlenergy" / "v1-legacy" / name, v1 / name)
    for name in ("text-to-image.json", "image-chat.json"):
        _v3_subset(src / "mlenergy" / "v3" / name, dst / "mlenergy" / "v3" / name)
    print(f"wrote excerpts under {dst}")


if __name__ == "__main__":
    main()
