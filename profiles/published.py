"""Import published model tables (timm, torchvision, YOLO11, ML.ENERGY) into catalogs.

Every row is labelled ``provenance.source = "published"`` and says who published it, which
file, on what hardware, what ``accuracy`` measures, and how energy and memory were derived:

- **timm** (``results-imagenet.csv`` joined with a ``benchmark-infer-*.csv`` on the
  architecture name and image size): accuracy = top-1 / 100; latency = ``infer_step_time`` /
  ``infer_batch_size`` (exact at batch 1 on the CPU table, amortised over the batch on the GPU
  table); energy *estimated* as latency x the rated power of the benchmark device; memory =
  ``param_count`` x 4 bytes (fp32 weights).
- **torchvision** (weights metadata): accuracy = acc@1 / box mAP / mIoU over 100; the table has
  no latency, so latency is *estimated* from the published GFLOPS at a throughput calibrated on
  timm's benchmarks, and energy = that latency x rated power; memory = checkpoint size (MB).
- **yolo** (Ultralytics YOLO11 tables): accuracy = mAP or top-1 / 100; latency = the published
  CPU-ONNX or T4-TensorRT10 time (batch 1); energy *estimated* as latency x rated power;
  memory = params x 4 bytes.
- **mlenergy**: v1 CSVs (energy and latency per response measured with Zeus, accuracy from
  ``score.csv``) and v3 task JSONs (energy per request/image/video measured with Zeus; no
  accuracy is published, so accuracy is the neutral placeholder 1.0, labelled as such); memory =
  parameters x bytes per weight.

Task names follow TaskBench's HuggingFace tool graph where one fits (``TASK_MAP``).
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiles.safeio import InputError, parse_json, read_input_text
from profiles.schema import Catalog, ModelProfile, Provenance

FORMATS = ("timm", "torchvision", "yolo", "mlenergy")
MAX_TABLE_BYTES = 20 * 1024 * 1024
PLACEHOLDER_ACCURACY = 1.0

#: Source task -> TaskBench task names it may serve (first = default label).
TASK_MAP: dict[str, dict[str, tuple[str, ...]]] = {
    "timm": {"image_classification": ("Image Classification",)},
    "torchvision": {
        "image_classification": ("Image Classification",),
        "object_detection": ("Object Detection",),
        "semantic_segmentation": ("Image Segmentation",),
        "video_classification": ("Video Classification",),
    },
    "yolo": {
        "object_detection": ("Object Detection",),
        "instance_segmentation": ("Image Segmentation",),
        "image_classification": ("Image Classification",),
        "pose_estimation": ("Pose Estimation",),
        "oriented_object_detection": ("Oriented Object Detection",),
    },
    "mlenergy": {
        "chat": ("Text Generation", "Conversational"),
        "chat-concise": ("Text Generation", "Conversational"),
        "instruct": ("Text Generation", "Conversational"),
        "instruct-concise": ("Text Generation", "Conversational"),
        "lm-arena-chat": ("Text Generation", "Conversational"),
        "gpqa": ("Text Generation", "Question Answering"),
        "sourcegraph-fim": ("Text Generation",),
        "image-chat": ("Visual Question Answering", "Image-to-Text"),
        "video-chat": ("Video Chat",),
        "text-to-image": ("Text-to-Image",),
        "text-to-video": ("Text-to-Video",),
    },
}

#: Rated power (W) of the devices the published tables were measured on; used for estimates.
DEVICE_WATTS: dict[str, tuple[str, float, str]] = {
    "i7_12700h": ("Intel i7-12700H", 45.0, "processor base power"),
    "4090": ("NVIDIA RTX 4090", 450.0, "total board power"),
    "t4": ("NVIDIA T4", 70.0, "board power"),
    "xeon_8275cl": ("Intel Xeon Platinum 8275CL", 240.0, "TDP of one package"),
}

#: Throughput (G multiply-adds per second per image) used to turn torchvision's published
#: GFLOPS (fvcore counts, i.e. GMACs: ResNet-50 = 4.09, timm's infer_gmacs = 4.11) into latency.
#: Each is the median over every row of the timm benchmark of infer_gmacs / (infer_step_time /
#: infer_batch_size) (1440 CPU rows, 1627 GPU rows, snapshot aa4b5850).
CALIBRATED_GMACS_PER_S: dict[str, tuple[float, str]] = {
    "cpu": (115.2, "i7_12700h"),
    "gpu": (16957.0, "4090"),
}

REFERENCES: dict[str, tuple[str, str, str]] = {
    # format: (publisher and repository, commit of the snapshot in shared/data, licence)
    "timm": (
        "Ross Wightman / Hugging Face, huggingface/pytorch-image-models results/",
        "aa4b5850c1543fa488abf260f18390eda46cf85d",
        "Apache-2.0",
    ),
    "torchvision": (
        "PyTorch, torchvision 0.29.1 WeightsEnum meta (torchvision/models/**)",
        "wheel torchvision-0.29.1-cp311-cp311-manylinux_2_28_x86_64",
        "BSD-3-Clause",
    ),
    "yolo": (
        "Ultralytics, ultralytics/ultralytics docs/en/models/yolo11.md performance tables",
        "040502be523cf6063d21db424710b66de85a8d77",
        "AGPL-3.0",
    ),
    "mlenergy-v1": (
        "ML.ENERGY Leaderboard v1 (Chung et al.), ml-energy/leaderboard-v2 data/legacy/",
        "b10121d5",
        "Apache-2.0",
    ),
    "mlenergy-v3": (
        "The ML.ENERGY Benchmark v3 (Chung et al., NeurIPS D&B 2025), "
        "ml-energy/leaderboard public/data/tasks/",
        "7885788e",
        "Apache-2.0 (ml-energy/data)",
    ),
}

BYTES_PER_WEIGHT = {
    "bfloat16": 2.0,
    "float16": 2.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "float8": 1.0,
    "float32": 4.0,
    "fp32": 4.0,
    "int8": 1.0,
    "mxfp4": 4.25 / 8,
}  # MXFP4: 4-bit values + one 8-bit scale per 32


class PublishedTableError(ValueError):
    """A published table is missing, malformed, or not in the format named."""


@dataclass(frozen=True)
class ImportOptions:
    """Choices that shape an import (see `import_table`)."""

    tasks: tuple[str, ...] = ()
    hardware: str | None = None
    metric: str | None = None
    watts: float | None = None
    batch: int | None = None
    match: str | None = None
    benchmark: Path | None = None
    scores: Path | None = None
    reference: str | None = None


@dataclass
class _Row:
    """One imported model before task labelling."""

    id: str
    source_task: str
    accuracy: float
    latency_ms: float
    energy_j: float
    memory_mb: float
    provenance: dict[str, Any]


@dataclass
class ImportResult:
    """The catalog plus what was skipped and why (for the CLI's summary)."""

    catalog: Catalog
    skipped: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def _sig(value: float, digits: int = 6) -> float:
    """Round to ``digits`` significant digits (stable, readable JSON)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise PublishedTableError(f"{path}: no such file")
    if path.is_dir():
        raise PublishedTableError(f"{path} is a directory; give the table file itself")
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise PublishedTableError(
            f"{path} is {size / 1e6:.1f} MB; published tables over "
            f"{MAX_TABLE_BYTES // 1024 // 1024} MiB are refused"
        )
    if size == 0:
        raise PublishedTableError(f"{path} is empty")


def _read_text(path: Path) -> str:
    _check_file(path)
    try:
        return read_input_text(path, limit=MAX_TABLE_BYTES, what="table file")
    except InputError as exc:
        raise PublishedTableError(str(exc)) from exc


def _read_csv(path: Path, required: Iterable[str], what: str) -> list[dict[str, str]]:
    text = _read_text(path)
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        guess = detect_format(path)
        hint = (
            f" It looks like a {guess} table: check the format argument."
            if guess and guess != what.split()[0]
            else ""
        )
        raise PublishedTableError(
            f"{path} is not a {what}: missing column(s) {', '.join(missing)} "
            f"(header: {', '.join(header[:12]) or 'none'}).{hint}"
        )
    rows = list(reader)
    if not rows:
        raise PublishedTableError(f"{path} has a header but no data rows")
    return rows


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return parse_json(text, str(path))
    except InputError as exc:
        raise PublishedTableError(str(exc)) from exc


def _num(row: dict[str, Any], key: str, where: str) -> float:
    raw = row.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise PublishedTableError(f"{where}: column {key!r} is empty")
    if isinstance(raw, bool):
        raise PublishedTableError(f"{where}: {key!r} is not a number: {raw!r}")
    try:
        value = float(str(raw).replace(",", "")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError) as exc:
        raise PublishedTableError(f"{where}: {key!r} is not a number: {raw!r}") from exc
    if not math.isfinite(value):
        raise PublishedTableError(f"{where}: {key!r} is not finite: {raw!r}")
    return value


def _percent(value: float, where: str, metric: str) -> float:
    if not 0 < value <= 100:
        raise PublishedTableError(f"{where}: {metric} = {value} is not a percentage in (0, 100]")
    return _sig(value / 100.0)


def _reference(key: str, path: Path, extra: Iterable[Path] = ()) -> str:
    who, commit, licence = REFERENCES[key]
    files = ", ".join([path.name, *(p.name for p in extra)])
    return f"{who}; file(s) {files}; snapshot {commit}; licence {licence}"


def detect_format(path: Path) -> str | None:
    """Best guess of which published format a file is in (for error messages), or None."""
    try:
        text = path.read_text(encoding="utf-8")[:4096]
    except (OSError, UnicodeDecodeError):
        return None
    first = text.splitlines()[0] if text.strip() else ""
    if first.startswith("model,img_size,top1") or first.startswith("model,infer_img_size"):
        return "timm"
    if first.startswith("weights,builder,task"):
        return "torchvision"
    if first.startswith("model,weights_file,task"):
        return "yolo"
    if first.startswith("model,throughput,response_length") or '"configurations"' in text:
        return "mlenergy"
    return None


def _device(key: str, watts: float | None) -> tuple[str, float, str]:
    name, rated, what = DEVICE_WATTS[key]
    if watts is not None:
        return name, watts, "given with --watts"
    return name, rated, what


def _check_watts(watts: float | None) -> None:
    if watts is not None and (not math.isfinite(watts) or watts <= 0):
        raise PublishedTableError(f"--watts must be a positive number, got {watts}")


# --------------------------------------------------------------------------- timm

_TIMM_RESULTS = ("model", "img_size", "top1", "top5", "param_count")
_TIMM_BENCH = (
    "model",
    "infer_img_size",
    "infer_samples_per_sec",
    "infer_step_time",
    "infer_batch_size",
    "param_count",
)


def _timm_benchmark_path(results: Path, hardware: str) -> Path:
    candidates = sorted(results.parent.glob("benchmark-infer-*.csv"))
    if hardware == "cpu":
        found = [p for p in candidates if "-cpu-" in p.name]
    else:
        found = [p for p in candidates if "-cpu-" not in p.name]
    if len(found) != 1:
        listed = ", ".join(p.name for p in candidates) or "none"
        raise PublishedTableError(
            f"cannot pick the timm {hardware} benchmark next to {results} (found: {listed}); "
            "name it with --benchmark FILE"
        )
    return found[0]


def _timm_hardware(bench: Path, watts: float | None) -> tuple[str, float, str, str]:
    """(device name, watts, what the watts are, description) from a benchmark file name."""
    name = bench.stem
    parts = name.split("-")
    device = next((k for k in DEVICE_WATTS if k in parts or k in name), None)
    if device is not None:
        dev_name, power, what = _device(device, watts)
    elif watts is not None:
        dev_name = f"device of {bench.name}"
        power, what = watts, "given with --watts"
    else:
        raise PublishedTableError(
            f"{bench.name}: unknown benchmark device (known: {', '.join(DEVICE_WATTS)}); "
            "the energy estimate needs its power: give --watts W"
        )
    desc = [dev_name]
    for part in parts:
        if m := re.fullmatch(r"pt(\d)(\d)(\d+)", part):
            desc.append(f"PyTorch {m[1]}.{m[2]}.{m[3]}")
        elif m := re.fullmatch(r"cu(\d+)(\d)", part):
            desc.append(f"CUDA {m[1]}.{m[2]}")
        elif part in ("amp", "fp32", "fp16", "bf16"):
            desc.append(part.upper())
        elif part == "dynamo":
            desc.append("torch.compile")
    return dev_name, power, what, ", ".join(desc)


def _import_timm(path: Path, opt: ImportOptions) -> tuple[list[_Row], list[str]]:
    hardware = (opt.hardware or "cpu").lower()
    if hardware not in ("cpu", "gpu"):
        raise PublishedTableError(f"--hardware for timm must be cpu or gpu, got {opt.hardware!r}")
    metric = opt.metric or "top1"
    if metric not in ("top1", "top5"):
        raise PublishedTableError(f"--metric for timm must be top1 or top5, got {metric!r}")
    results = _read_csv(path, _TIMM_RESULTS, "timm results table (results-imagenet.csv)")
    bench_path = opt.benchmark or _timm_benchmark_path(path, hardware)
    bench = _read_csv(bench_path, _TIMM_BENCH, "timm benchmark table (benchmark-infer-*.csv)")
    dev_name, watts, watts_what, hw_desc = _timm_hardware(bench_path, opt.watts)
    by_key: dict[tuple[str, int], dict[str, str]] = {}
    for i, b in enumerate(bench, start=2):
        key = (b["model"], int(_num(b, "infer_img_size", f"{bench_path}:{i}")))
        by_key.setdefault(key, b)
    counts = Counter(r["model"] for r in results)
    dup = {n for n, k in counts.items() if k > 1}
    rows: list[_Row] = []
    skipped: list[str] = []
    for i, r in enumerate(results, start=2):
        where = f"{path}:{i}"
        arch = r["model"].split(".", 1)[0]
        size = int(_num(r, "img_size", where))
        match = by_key.get((arch, size))
        if match is None:
            skipped.append(f"{r['model']}@{size}: no {bench_path.name} row for {arch} at {size} px")
            continue
        bwhere = f"{bench_path} ({arch}, {size} px)"
        step_ms = _num(match, "infer_step_time", bwhere)
        batch = int(_num(match, "infer_batch_size", bwhere))
        if step_ms <= 0 or batch <= 0:
            raise PublishedTableError(f"{bwhere}: infer_step_time and infer_batch_size must be > 0")
        latency = step_ms / batch
        params_m = _num(r, "param_count", where)
        model_id = f"timm/{r['model']}" + (f"@{size}" if r["model"] in dup else "")
        lat_note = (
            "batch 1: infer_step_time is the per-image latency"
            if batch == 1
            else f"amortised per image: infer_step_time / infer_batch_size at batch {batch} "
            "(a single request at batch 1 waits longer)"
        )
        hw = f"{hw_desc}, batch {batch}"
        rows.append(
            _Row(
                id=model_id,
                source_task="image_classification",
                accuracy=_percent(_num(r, metric, where), where, metric),
                latency_ms=_sig(latency),
                energy_j=_sig(latency / 1000.0 * watts),
                memory_mb=_sig(params_m * 4.0),
                provenance={
                    "hardware": hw,
                    "metric": f"{metric} accuracy (%/100), {size} px, crop_pct {r.get('crop_pct')}",
                    "dataset": "ImageNet-1k validation (50,000 images)",
                    "energy_source": "estimate",
                    "energy_note": f"latency x {watts:g} W ({dev_name} {watts_what}); not measured",
                    "latency_note": lat_note,
                    "memory_note": f"param_count {params_m:g} M x 4 bytes (fp32 weights); "
                    "activations not included",
                    "reference": opt.reference or _reference("timm", path, [bench_path]),
                },
            )
        )
    return rows, skipped


# --------------------------------------------------------------------------- torchvision

_TV_COLS = (
    "weights",
    "builder",
    "task",
    "dataset",
    "metric",
    "value",
    "gflops",
    "params",
    "size_mb",
)
_TV_DEFAULT_METRIC = {
    "image_classification": "acc@1",
    "object_detection": "box_map",
    "semantic_segmentation": "miou",
    "video_classification": "acc@1",
}


def _import_torchvision(path: Path, opt: ImportOptions) -> tuple[list[_Row], list[str]]:
    hardware = (opt.hardware or "cpu").lower()
    if hardware not in CALIBRATED_GMACS_PER_S:
        raise PublishedTableError(
            f"--hardware for torchvision must be cpu or gpu, got {opt.hardware!r}"
        )
    rate, device = CALIBRATED_GMACS_PER_S[hardware]
    dev_name, watts, watts_what = _device(device, opt.watts)
    table = _read_csv(path, _TV_COLS, "torchvision weights-metadata table")
    rows: list[_Row] = []
    skipped: list[str] = []
    by_weights: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, r in enumerate(table, start=2):
        by_weights.setdefault(r["weights"], []).append((i, r))
    for weights, entries in by_weights.items():
        task = entries[0][1]["task"]
        if task not in TASK_MAP["torchvision"]:
            why = (
                "optical flow is scored by end-point error (lower is better), not an accuracy"
                if task == "optical_flow"
                else "quantized weights run int8 kernels that the GFLOPS latency estimate does "
                "not model"
                if task.endswith("_quantized")
                else "unknown task"
            )
            skipped.append(f"{weights}: task {task} not imported: {why}")
            continue
        if entries[0][1]["builder"].startswith("keypointrcnn"):
            skipped.append(f"{weights}: Keypoint R-CNN's box mAP is for the person class only")
            continue
        metric = opt.metric or _TV_DEFAULT_METRIC[task]
        found = [(i, r) for i, r in entries if r["metric"] == metric]
        if not found:
            skipped.append(
                f"{weights}: no {metric} row (has {', '.join(r['metric'] for _, r in entries)})"
            )
            continue
        i, r = found[0]
        where = f"{path}:{i}"
        try:
            value = _num(r, "value", where)
        except PublishedTableError:
            skipped.append(
                f"{weights}: {metric} is not a number in the table ({r['value'][:40]!r})"
            )
            continue
        gflops = _num(r, "gflops", where)
        latency = gflops / rate * 1000.0
        rows.append(
            _Row(
                id=f"torchvision/{weights}",
                source_task=task,
                accuracy=_percent(value, where, metric),
                latency_ms=_sig(latency),
                energy_j=_sig(latency / 1000.0 * watts),
                memory_mb=_sig(_num(r, "size_mb", where)),
                provenance={
                    "hardware": f"not measured: latency estimated for {dev_name} "
                    f"({'fp32, batch 1' if hardware == 'cpu' else 'AMP, large batch'})",
                    "metric": f"{metric} (%/100)"
                    + (" = COCO AP@[.5:.95]" if "map" in metric else ""),
                    "dataset": r["dataset"],
                    "energy_source": "estimate",
                    "energy_note": f"estimated latency x {watts:g} W ({dev_name} {watts_what})",
                    "latency_note": f"estimate: published {gflops:g} GFLOPS (GMAC count) / "
                    f"{rate:g} GMAC/s, the median throughput of timm's "
                    f"{dev_name} benchmark; torchvision publishes no latency",
                    "memory_note": "published checkpoint size (_file_size, MB)",
                    "reference": opt.reference or _reference("torchvision", path),
                },
            )
        )
    return rows, skipped


# --------------------------------------------------------------------------- YOLO11

_YOLO_COLS = (
    "model",
    "task",
    "dataset",
    "img_size",
    "metric",
    "value",
    "cpu_onnx_ms",
    "t4_tensorrt10_ms",
    "params_m",
)
_YOLO_DEFAULT_METRIC = {
    "object_detection": "mAP50-95(box)",
    "instance_segmentation": "mAP50-95(mask)",
    "image_classification": "acc_top1",
    "pose_estimation": "mAP50-95(pose)",
    "oriented_object_detection": "mAP50(box)",
}


def _import_yolo(path: Path, opt: ImportOptions) -> tuple[list[_Row], list[str]]:
    hardware = (opt.hardware or "cpu").lower()
    if hardware not in ("cpu", "gpu"):
        raise PublishedTableError(f"--hardware for yolo must be cpu or gpu, got {opt.hardware!r}")
    table = _read_csv(path, _YOLO_COLS, "Ultralytics YOLO performance table")
    if hardware == "cpu":
        col, device = "cpu_onnx_ms", "xeon_8275cl"
        hw = "CPU of an Amazon EC2 P4d instance (Intel Xeon Platinum 8275CL), ONNX, batch 1"
    else:
        col, device = "t4_tensorrt10_ms", "t4"
        hw = "NVIDIA T4, TensorRT 10, batch 1"
    dev_name, watts, watts_what = _device(device, opt.watts)
    by_model: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, r in enumerate(table, start=2):
        by_model.setdefault(r["model"], []).append((i, r))
    rows: list[_Row] = []
    skipped: list[str] = []
    for model, entries in by_model.items():
        task = entries[0][1]["task"]
        if task not in TASK_MAP["yolo"]:
            skipped.append(f"{model}: unknown task {task!r}")
            continue
        metric = opt.metric or _YOLO_DEFAULT_METRIC[task]
        found = [(i, r) for i, r in entries if r["metric"] == metric]
        if not found:
            skipped.append(f"{model}: no {metric} row")
            continue
        i, r = found[0]
        where = f"{path}:{i}"
        latency = _num(r, col, where)
        if latency <= 0:
            raise PublishedTableError(f"{where}: {col} must be > 0")
        params_m = _num(r, "params_m", where)
        rows.append(
            _Row(
                id=f"ultralytics/{model}",
                source_task=task,
                accuracy=_percent(_num(r, "value", where), where, metric),
                latency_ms=_sig(latency),
                energy_j=_sig(latency / 1000.0 * watts),
                memory_mb=_sig(params_m * 4.0),
                provenance={
                    "hardware": f"{hw}, {r['img_size']} px",
                    "metric": f"{metric} (%/100)",
                    "dataset": r["dataset"]
                    + (" val2017" if r["dataset"].startswith("COCO") else ""),
                    "energy_source": "estimate",
                    "energy_note": f"published latency x {watts:g} W ({dev_name} {watts_what}); "
                    "not measured",
                    "latency_note": f"published '{col}' (mean over the validation images)",
                    "memory_note": f"params {params_m:g} M x 4 bytes (fp32 weights)",
                    "reference": opt.reference or _reference("yolo", path),
                },
            )
        )
    return rows, skipped


# --------------------------------------------------------------------------- ML.ENERGY

_V1_COLS = ("model", "throughput", "response_length", "latency", "energy")
_V1_METRICS = {"arc": "ARC-challenge", "hellaswag": "HellaSwag", "truthfulqa": "TruthfulQA-MC2"}


def _import_mlenergy(path: Path, opt: ImportOptions) -> tuple[list[_Row], list[str]]:
    if path.suffix.lower() == ".csv":
        return _import_mlenergy_v1(path, opt)
    if path.suffix.lower() == ".json":
        return _import_mlenergy_v3(path, opt)
    raise PublishedTableError(
        f"{path}: expected an ML.ENERGY v1 '<GPU>_<task>_benchmark.csv' or a v3 task JSON "
        "such as 'lm-arena-chat.json'"
    )


def _import_mlenergy_v1(path: Path, opt: ImportOptions) -> tuple[list[_Row], list[str]]:
    m = re.fullmatch(r"([A-Za-z0-9]+)_([a-z-]+)_benchmark", path.stem)
    if not m or m[2] not in TASK_MAP["mlenergy"]:
        raise PublishedTableError(
            f"{path.name}: ML.ENERGY v1 files are named <GPU>_<task>_benchmark.csv with task "
            "chat, chat-concise, instruct or instruct-concise"
        )
    gpu, task = m[1], m[2]
    if opt.hardware and opt.hardware.lower() not in ("gpu", gpu.lower()):
        raise PublishedTableError(
            f"{path.name} was measured on {gpu}, not {opt.hardware}; "
            f"use the {opt.hardware}_{task}_benchmark.csv file"
        )
    if opt.batch is not None:
        raise PublishedTableError("--batch applies only to ML.ENERGY v3 task files")
    metric = opt.metric or "mean"
    if metric not in (*_V1_METRICS, "mean"):
        raise PublishedTableError(
            f"--metric for ML.ENERGY v1 must be one of "
            f"{', '.join([*_V1_METRICS, 'mean'])}, got {metric!r}"
        )
    table = _read_csv(path, _V1_COLS, "ML.ENERGY v1 benchmark table")
    scores_path = opt.scores or path.parent / "score.csv"
    scores = {
        r["model"]: r
        for r in _read_csv(
            scores_path, ("model", *_V1_METRICS), "ML.ENERGY v1 score table (score.csv)"
        )
    }
    meta_path = path.parent / "models.json"
    meta = _read_json(meta_path) if meta_path.exists() else {}
    if not isinstance(meta, dict):
        raise PublishedTableError(f"{meta_path}: expected an object keyed by model")
    metric_desc = (
        "mean of ARC-challenge, HellaSwag and TruthfulQA-MC2 accuracy (%/100)"
        if metric == "mean"
        else f"{_V1_METRICS[metric]} accuracy (%/100)"
    )
    rows: list[_Row] = []
    skipped: list[str] = []
    for i, r in enumerate(table, start=2):
        where = f"{path}:{i}"
        model = r["model"]
        score = scores.get(model)
        if score is None:
            skipped.append(f"{model}: no row in {scores_path.name}")
            continue
        swhere = f"{scores_path} ({model})"
        if metric == "mean":
            acc = statistics.fmean(_num(score, k, swhere) for k in _V1_METRICS)
        else:
            acc = _num(score, metric, swhere)
        params_b = meta.get(model, {}).get("params") if isinstance(meta.get(model), dict) else None
        if params_b is None:
            skipped.append(f"{model}: no params in {meta_path.name} (memory unknown)")
            continue
        try:
            params = float(params_b)
        except (TypeError, ValueError) as exc:
            raise PublishedTableError(f"{meta_path}: params of {model} is not a number") from exc
        latency_s = _num(r, "latency", where)
        energy = _num(r, "energy", where)
        rows.append(
            _Row(
                id=model,
                source_task=task,
                accuracy=_percent(acc, swhere, metric),
                latency_ms=_sig(latency_s * 1000.0),
                energy_j=_sig(energy),
                memory_mb=_sig(params * 2000.0),
                provenance={
                    "hardware": f"NVIDIA {gpu} (ML.ENERGY v1 '{task}' workload)",
                    "metric": metric_desc + ", lm-evaluation-harness",
                    "dataset": "ARC-challenge / HellaSwag / TruthfulQA (score.csv)",
                    "energy_source": "published",
                    "energy_note": "energy per response measured by ML.ENERGY with Zeus (GPU)",
                    "latency_note": f"published latency per response "
                    f"({_num(r, 'response_length', where):.0f} tokens on average)",
                    "memory_note": f"{params:g} B parameters x 2 bytes (16-bit weights assumed; "
                    "params rounded in models.json)",
                    "reference": opt.reference
                    or _reference(
                        "mlenergy-v1", path, [scores_path] + ([meta_path] if meta else [])
                    ),
                },
            )
        )
    return rows, skipped


def _v3_key(c: dict[str, Any]) -> tuple[Any, ...]:
    batch = c.get("max_num_seqs", c.get("batch_size", 0))
    return (
        batch,
        c.get("num_gpus", 0),
        c.get("tensor_parallel", 0),
        c.get("expert_parallel", 0),
        c.get("ulysses_degree", 0),
        c.get("ring_degree", 0),
        c.get(
            "energy_per_request_joules",
            c.get("energy_per_image_joules", c.get("energy_per_video_joules", 0)),
        ),
    )


def _import_mlenergy_v3(path: Path, opt: ImportOptions) -> tuple[list[_Row], list[str]]:
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("configurations"), list):
        guess = (
            " (this looks like index.json; pass a task file)"
            if isinstance(data, dict) and "architectures" in data
            else ""
        )
        raise PublishedTableError(
            f"{path} is not an ML.ENERGY v3 task file: expected "
            f"{{task, configurations: [...]}}{guess}"
        )
    task = data.get("task")
    if task not in TASK_MAP["mlenergy"]:
        raise PublishedTableError(
            f"{path}: unknown ML.ENERGY task {task!r} (known: {', '.join(TASK_MAP['mlenergy'])})"
        )
    if opt.metric is not None:
        raise PublishedTableError("--metric does not apply: ML.ENERGY v3 publishes no accuracy")
    gpu = (opt.hardware or "H100").upper()
    if gpu == "GPU":
        gpu = "H100"
    diffusion = task in ("text-to-image", "text-to-video")
    configs: dict[str, list[dict[str, Any]]] = {}
    gpus: set[str] = set()
    for k, c in enumerate(data["configurations"]):
        if not isinstance(c, dict) or "model_id" not in c or "gpu_model" not in c:
            raise PublishedTableError(f"{path}: configurations[{k}] lacks model_id/gpu_model")
        gpus.add(str(c["gpu_model"]))
        if str(c["gpu_model"]).upper() != gpu:
            continue
        batch = c.get("batch_size" if diffusion else "max_num_seqs")
        if opt.batch is not None and batch != opt.batch:
            continue
        configs.setdefault(str(c["model_id"]), []).append(c)
    if not configs:
        batch_txt = f" at batch {opt.batch}" if opt.batch is not None else ""
        raise PublishedTableError(
            f"{path}: no configuration on {gpu}{batch_txt} (GPUs in the "
            f"file: {', '.join(sorted(gpus))}); use --hardware/--batch"
        )
    rows: list[_Row] = []
    for model in sorted(configs):
        c = min(configs[model], key=_v3_key)
        where = f"{path} ({model}, {gpu})"
        n_gpus = int(_num(c, "num_gpus", where))
        precision = str(c.get("weight_precision", "bfloat16"))
        if precision.lower() not in BYTES_PER_WEIGHT:
            raise PublishedTableError(f"{where}: unknown weight_precision {precision!r}")
        params_b = _num(c, "total_params_billions", where)
        memory = params_b * BYTES_PER_WEIGHT[precision.lower()] * 1000.0
        if diffusion:
            unit = "image" if task == "text-to-image" else "video"
            batch = int(_num(c, "batch_size", where))
            latency = _num(c, "batch_latency_s", where) * 1000.0
            energy = _num(c, f"energy_per_{unit}_joules", where)
            shape = (
                f"{c.get('image_width')}x{c.get('image_height')}"
                if unit == "image"
                else f"{c.get('video_width')}x{c.get('video_height')}, {c.get('num_frames')} frames"
            )
            hw = (
                f"{n_gpus}x NVIDIA {gpu}, batch {batch}, {shape}, "
                f"{c.get('inference_steps')} steps, {precision}"
            )
            lat_note = f"published batch_latency_s at batch {batch}" + (
                "" if batch == 1 else " (whole batch)"
            )
            energy_note = f"energy per {unit} measured by ML.ENERGY with Zeus (GPU)"
        else:
            batch = int(_num(c, "max_num_seqs", where))
            out_len = _num(c, "avg_output_len", where)
            itl = _num(c, "median_itl_ms", where)
            latency = out_len * itl
            energy = _num(c, "energy_per_request_joules", where)
            hw = (
                f"{n_gpus}x NVIDIA {gpu}, max_num_seqs {batch} "
                f"(avg batch {_num(c, 'avg_batch_size', where):.1f}), {precision}"
            )
            lat_note = (
                f"estimate: avg_output_len {out_len:.0f} tokens x median inter-token "
                f"latency {itl:.3g} ms (decode only; prefill and queueing excluded)"
            )
            energy_note = (
                "energy per request measured by ML.ENERGY with Zeus (all GPUs, "
                "shared across the concurrent batch)"
            )
        rows.append(
            _Row(
                id=model,
                source_task=task,
                accuracy=PLACEHOLDER_ACCURACY,
                latency_ms=_sig(latency),
                energy_j=_sig(energy),
                memory_mb=_sig(memory),
                provenance={
                    "hardware": hw,
                    "metric": "none published: accuracy 1.0 is a neutral placeholder (it never "
                    "changes the accuracy product); supply real scores to plan on quality",
                    "dataset": f"ML.ENERGY task {task!r} ({data.get('task_display_name', task)})",
                    "energy_source": "published",
                    "energy_note": energy_note,
                    "latency_note": lat_note,
                    "memory_note": f"{params_b:g} B parameters x "
                    f"{BYTES_PER_WEIGHT[precision.lower()]:g} bytes ({precision}) "
                    f"over {n_gpus} GPU(s); activations/KV cache not included",
                    "reference": opt.reference or _reference("mlenergy-v3", path),
                },
            )
        )
    return rows, []


# --------------------------------------------------------------------------- entry point

_IMPORTERS: dict[str, Callable[[Path, ImportOptions], tuple[list[_Row], list[str]]]] = {
    "timm": _import_timm,
    "torchvision": _import_torchvision,
    "yolo": _import_yolo,
    "mlenergy": _import_mlenergy,
}


def import_table(fmt: str, path: str | Path, options: ImportOptions | None = None) -> ImportResult:
    """Read a published table in format ``fmt`` and return a catalog of published rows.

    ``options.tasks`` (TaskBench names) keeps the rows that can serve those tasks and labels
    them so (one row per task: a model serving two tasks is one model, its memory counts once);
    without it every row gets its source task's default name (``TASK_MAP``).
    Raises `PublishedTableError` with a message naming the file, line and column.
    """
    opt = options or ImportOptions()
    if fmt not in _IMPORTERS:
        raise PublishedTableError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    _check_watts(opt.watts)
    if opt.batch is not None and opt.batch <= 0:
        raise PublishedTableError(f"--batch must be a positive integer, got {opt.batch}")
    if opt.batch is not None and fmt != "mlenergy":
        raise PublishedTableError("--batch applies only to ML.ENERGY v3 task files")
    path = Path(path)
    rows, skipped = _IMPORTERS[fmt](path, opt)
    if opt.match is not None:
        try:
            pattern = re.compile(opt.match)
        except re.error as exc:
            raise PublishedTableError(f"--match {opt.match!r} is not a valid regex: {exc}") from exc
        rows = [r for r in rows if pattern.search(r.id)]
        if not rows:
            raise PublishedTableError(f"--match {opt.match!r} selects no model of {path}")
    mapping = TASK_MAP[fmt]
    servable = sorted({t for r in rows for t in mapping[r.source_task]})
    for task in opt.tasks:
        if task not in servable:
            raise PublishedTableError(
                f"{path} has no model for task {task!r}; this table serves: "
                f"{', '.join(servable) or 'nothing'}"
            )
    profiles: list[ModelProfile] = []
    for r in rows:
        labels = (
            [t for t in mapping[r.source_task] if t in opt.tasks]
            if opt.tasks
            else [mapping[r.source_task][0]]
        )
        for task in labels:
            prov = Provenance(
                source="published",
                **r.provenance,
                source_task=r.source_task,
                importer=f"planner catalog import {fmt}",
            )
            profiles.append(
                ModelProfile(
                    id=r.id,
                    task=task,
                    accuracy=r.accuracy,
                    latency_ms=r.latency_ms,
                    energy_j=r.energy_j,
                    memory_mb=r.memory_mb,
                    provenance=prov,
                )
            )
    if not profiles:
        raise PublishedTableError(
            f"{path}: no importable rows ({len(skipped)} skipped"
            + (f", e.g. {skipped[0]}" if skipped else "")
            + ")"
        )
    seen: set[tuple[str, str]] = set()
    for p in profiles:
        if (p.id, p.task) in seen:
            raise PublishedTableError(f"{path}: model {p.id!r} appears twice for {p.task!r}")
        seen.add((p.id, p.task))
    profiles.sort(key=lambda p: (p.task, p.id))
    return ImportResult(catalog=Catalog(models=tuple(profiles)), skipped=skipped)


def merge_catalogs(catalogs: Iterable[Catalog]) -> Catalog:
    """Concatenate catalogs, refusing a (model id, task) pair given twice."""
    rows: list[ModelProfile] = []
    seen: set[tuple[str, str]] = set()
    for cat in catalogs:
        for m in cat.models:
            if (m.id, m.task) in seen:
                raise PublishedTableError(f"model {m.id!r} is given twice for task {m.task!r}")
            seen.add((m.id, m.task))
            rows.append(m)
    return Catalog(models=tuple(rows))


def catalog_json(catalog: Catalog) -> str:
    """Deterministic JSON text of a catalog (``{"models": [...]}``, 2-space indent)."""
    data = catalog.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
