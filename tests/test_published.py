"""`profiles.published` and `planner catalog import`: published tables -> labelled catalogs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from planner.cli import main
from profiles import load_catalog
from profiles.published import (
    CALIBRATED_GMACS_PER_S,
    ImportOptions,
    PublishedTableError,
    catalog_json,
    import_table,
    merge_catalogs,
)
from profiles.schema import ModelProfile

DATA = Path(__file__).parent / "data" / "profiles-public"
TIMM = DATA / "timm" / "results-imagenet.csv"
TV = DATA / "torchvision" / "torchvision_weights_meta.csv"
YOLO = DATA / "ultralytics" / "yolo11_performance.csv"
V1 = DATA / "mlenergy" / "v1-legacy" / "A100_chat_benchmark.csv"
T2I = DATA / "mlenergy" / "v3" / "text-to-image.json"
VLM = DATA / "mlenergy" / "v3" / "image-chat.json"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "profiles-public"

ALL = [
    ("timm", TIMM, ImportOptions()),
    ("timm", TIMM, ImportOptions(hardware="gpu")),
    ("torchvision", TV, ImportOptions()),
    ("torchvision", TV, ImportOptions(hardware="gpu")),
    ("yolo", YOLO, ImportOptions()),
    ("yolo", YOLO, ImportOptions(hardware="gpu")),
    ("mlenergy", V1, ImportOptions()),
    ("mlenergy", T2I, ImportOptions()),
    ("mlenergy", VLM, ImportOptions(hardware="B200")),
]


def row(fmt: str, path: Path, model_id: str, **opts: object) -> ModelProfile:
    catalog = import_table(fmt, path, ImportOptions(**opts)).catalog  # type: ignore[arg-type]
    found = [m for m in catalog.models if m.id == model_id]
    assert found, f"{model_id} not imported; have {[m.id for m in catalog.models][:10]}"
    return found[0]


@pytest.mark.parametrize(("fmt", "path", "opts"), ALL)
def test_every_row_is_labelled_published_with_full_provenance(
    fmt: str, path: Path, opts: ImportOptions
) -> None:
    catalog = import_table(fmt, path, opts).catalog
    assert catalog.models
    for m in catalog.models:
        assert 0 < m.accuracy <= 1
        assert m.latency_ms > 0 and m.energy_j > 0 and m.memory_mb > 0
        p = m.provenance
        assert p is not None and p.source == "published"
        assert p.energy_source in ("estimate", "published")
        for text in (p.reference, p.hardware, p.metric, p.dataset, p.energy_note):
            assert text
        assert (p.model_extra or {}).get("memory_note")
    keys = [(m.task, m.id) for m in catalog.models]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_timm_cpu_joins_on_architecture_and_size_batch_one() -> None:
    m = row("timm", TIMM, "timm/resnet50.a1_in1k@288")  # resnet50.a1_in1k is listed at 2 sizes
    assert m.task == "Image Classification"
    assert m.accuracy == pytest.approx(0.8124)
    assert m.latency_ms == pytest.approx(49.302)  # benchmark row resnet50,288 (batch 1)
    assert m.energy_j == pytest.approx(49.302e-3 * 45.0, rel=1e-5)
    assert m.memory_mb == pytest.approx(25.56 * 4)
    assert m.provenance is not None
    assert "i7-12700H" in (m.provenance.hardware or "")
    assert "batch 1" in (m.provenance.hardware or "")
    assert m.provenance.energy_source == "estimate"
    assert "45 W" in (m.provenance.energy_note or "")
    assert "aa4b5850" in (m.provenance.reference or "")
    unique = row("timm", TIMM, "timm/resnet50.fb_swsl_ig1b_ft_in1k")  # listed once: no @size
    assert unique.latency_ms == pytest.approx(32.78)


def test_timm_gpu_latency_is_amortised_over_the_batch_and_top5_metric() -> None:
    m = row("timm", TIMM, "timm/resnet50.a1_in1k@288", hardware="gpu", metric="top5")
    assert m.latency_ms == pytest.approx(389.18 / 1024, rel=1e-5)
    assert m.energy_j == pytest.approx(389.18 / 1024 / 1000 * 450, rel=1e-5)
    assert m.accuracy == pytest.approx(0.95112)
    assert m.provenance is not None
    assert "RTX 4090" in (m.provenance.hardware or "")
    assert "amortised" in str((m.provenance.model_extra or {})["latency_note"])


def test_timm_thousands_separator_and_unmatched_rows_are_skipped_with_reason() -> None:
    giant = row("timm", TIMM, "timm/eva_giant_patch14_560.m30m_ft_in22k_in1k")
    assert giant.memory_mb == pytest.approx(1014.45 * 4)  # "1,014.45" M params
    result = import_table("timm", TIMM, ImportOptions(hardware="cpu"))
    assert any("vit_so400m_patch14_siglip_378" in s for s in result.skipped)
    assert all("vit_so400m" not in m.id for m in result.catalog.models)


def test_timm_watts_override_and_explicit_benchmark(tmp_path: Path) -> None:
    m = row("timm", TIMM, "timm/resnet50.a1_in1k@288", watts=100.0)
    assert m.energy_j == pytest.approx(49.302e-3 * 100, rel=1e-5)
    lone = tmp_path / "results-imagenet.csv"
    shutil.copyfile(TIMM, lone)
    with pytest.raises(PublishedTableError, match="--benchmark"):
        import_table("timm", lone)
    bench = DATA / "timm" / "benchmark-infer-amp-nchw-pt291-cu128-4090.csv"
    cat = import_table("timm", lone, ImportOptions(benchmark=bench)).catalog
    assert len(cat.models) > 10
    other = tmp_path / "benchmark-infer-amp-nchw-pt291-cu128-a6000.csv"
    shutil.copyfile(bench, other)
    with pytest.raises(PublishedTableError, match="unknown benchmark device"):
        import_table("timm", lone, ImportOptions(benchmark=other))
    own = import_table("timm", lone, ImportOptions(benchmark=other, watts=300.0)).catalog
    m = next(x for x in own.models if x.id == "timm/resnet50.a1_in1k@288")
    assert m.energy_j == pytest.approx(389.18 / 1024 / 1000 * 300, rel=1e-5)
    assert m.provenance is not None and "300 W" in (m.provenance.energy_note or "")


def test_torchvision_maps_tasks_metrics_and_estimates_latency_from_gflops() -> None:
    result = import_table("torchvision", TV)
    cat = result.catalog
    assert set(cat.tasks()) == {
        "Image Classification",
        "Image Segmentation",
        "Object Detection",
        "Video Classification",
    }
    seg = row("torchvision", TV, "torchvision/DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1")
    assert seg.task == "Image Segmentation"
    assert seg.accuracy == pytest.approx(0.664)  # miou, not pixel_acc
    rate = CALIBRATED_GMACS_PER_S["cpu"][0]
    assert seg.latency_ms == pytest.approx(178.722 / rate * 1000, rel=1e-5)
    assert seg.energy_j == pytest.approx(seg.latency_ms / 1000 * 45, rel=1e-5)
    assert seg.memory_mb == pytest.approx(160.515)
    assert seg.provenance is not None and seg.provenance.energy_source == "estimate"
    assert "not measured" in (seg.provenance.hardware or "")
    det = row("torchvision", TV, "torchvision/MaskRCNN_ResNet50_FPN_Weights.COCO_V1")
    assert det.accuracy == pytest.approx(0.379)  # box_map, not mask_map
    skipped = " ".join(result.skipped)
    for why in (
        "KeypointRCNN",
        "VGG16_Weights.IMAGENET1K_FEATURES",
        "QuantizedWeights",
        "Raft_Small",
    ):
        assert why in skipped
    top5 = row("torchvision", TV, "torchvision/ResNet50_Weights.IMAGENET1K_V2", metric="acc@5")
    assert top5.accuracy == pytest.approx(0.95434)
    gpu = row("torchvision", TV, "torchvision/ResNet50_Weights.IMAGENET1K_V2", hardware="gpu")
    assert gpu.latency_ms < top5.latency_ms / 50


def test_yolo_hardware_columns_metrics_and_task_filter() -> None:
    cpu = row("yolo", YOLO, "ultralytics/YOLO11n")
    assert (cpu.accuracy, cpu.latency_ms) == (pytest.approx(0.395), pytest.approx(56.1))
    assert cpu.energy_j == pytest.approx(56.1e-3 * 240)
    assert cpu.memory_mb == pytest.approx(2.6 * 4)
    gpu = row("yolo", YOLO, "ultralytics/YOLO11n", hardware="gpu")
    assert gpu.latency_ms == pytest.approx(1.5) and gpu.energy_j == pytest.approx(1.5e-3 * 70)
    seg = row("yolo", YOLO, "ultralytics/YOLO11x-seg")
    assert seg.task == "Image Segmentation" and seg.accuracy == pytest.approx(0.438)  # mask mAP
    only = import_table("yolo", YOLO, ImportOptions(tasks=("Object Detection",))).catalog
    assert only.tasks() == ["Object Detection"] and len(only.models) == 5
    with pytest.raises(PublishedTableError, match="serves: Image Classification"):
        import_table("yolo", YOLO, ImportOptions(tasks=("Text-to-Speech",)))


def test_mlenergy_v1_published_energy_accuracy_from_scores_and_two_tasks() -> None:
    m = row("mlenergy", V1, "BAIR/koala-13b")
    assert m.task == "Text Generation"
    assert m.accuracy == pytest.approx(
        (52.901023890784984 + 77.54431388169687 + 50.091065219059125) / 300, rel=1e-5
    )
    assert m.latency_ms == pytest.approx(12143.3556952537, rel=1e-5)
    assert m.energy_j == pytest.approx(2144.8338435191445, rel=1e-5)
    assert m.memory_mb == pytest.approx(13 * 2000)
    assert m.provenance is not None and m.provenance.energy_source == "published"
    assert "Zeus" in (m.provenance.energy_note or "")
    arc = row("mlenergy", V1, "BAIR/koala-13b", metric="arc")
    assert arc.accuracy == pytest.approx(0.52901, rel=1e-4)
    both = import_table(
        "mlenergy", V1, ImportOptions(tasks=("Conversational", "Text Generation"))
    ).catalog
    assert len(both.for_task("Conversational")) == len(both.for_task("Text Generation")) == 21
    with pytest.raises(PublishedTableError, match="measured on A100"):
        import_table("mlenergy", V1, ImportOptions(hardware="V100"))
    with pytest.raises(PublishedTableError, match="--metric"):
        import_table("mlenergy", V1, ImportOptions(metric="mmlu"))


def test_mlenergy_v3_picks_smallest_batch_on_fewest_gpus_and_labels_placeholder() -> None:
    data = json.loads(T2I.read_text())
    sana = "Efficient-Large-Model/SANA1.5_1.6B_1024px_diffusers"
    m = row("mlenergy", T2I, sana)
    expect = min(
        (c for c in data["configurations"] if c["model_id"] == sana and c["gpu_model"] == "H100"),
        key=lambda c: (c["batch_size"], c["num_gpus"]),
    )
    assert expect["batch_size"] == 1 and expect["num_gpus"] == 1
    assert m.latency_ms == pytest.approx(expect["batch_latency_s"] * 1000, rel=1e-5)
    assert m.energy_j == pytest.approx(expect["energy_per_image_joules"], rel=1e-5)
    assert m.memory_mb == pytest.approx(1.6 * 2 * 1000)
    assert m.accuracy == 1.0
    assert m.provenance is not None and "placeholder" in (m.provenance.metric or "")
    assert m.task == "Text-to-Image"
    b2 = row("mlenergy", T2I, sana, batch=2, hardware="B200")
    assert b2.provenance is not None
    assert "batch 2" in (b2.provenance.hardware or "")
    vlm = row("mlenergy", VLM, "google/gemma-3-12b-it", tasks=("Image-to-Text",))
    cfg = min(
        (
            c
            for c in json.loads(VLM.read_text())["configurations"]
            if c["model_id"] == "google/gemma-3-12b-it" and c["gpu_model"] == "H100"
        ),
        key=lambda c: (c["max_num_seqs"], c["num_gpus"]),
    )
    assert vlm.task == "Image-to-Text"
    assert vlm.latency_ms == pytest.approx(cfg["avg_output_len"] * cfg["median_itl_ms"], rel=1e-5)
    assert vlm.energy_j == pytest.approx(cfg["energy_per_request_joules"], rel=1e-5)
    with pytest.raises(PublishedTableError, match="no accuracy"):
        import_table("mlenergy", VLM, ImportOptions(metric="arc"))
    with pytest.raises(PublishedTableError, match="no configuration on H100 at batch 3"):
        import_table("mlenergy", VLM, ImportOptions(batch=3))


def test_one_model_serving_two_tasks_is_one_id() -> None:
    both = import_table(
        "mlenergy", VLM, ImportOptions(tasks=("Visual Question Answering", "Image-to-Text"))
    ).catalog
    ids = {t: {m.id for m in both.for_task(t)} for t in both.tasks()}
    assert ids["Visual Question Answering"] == ids["Image-to-Text"]
    with pytest.raises(PublishedTableError, match="twice"):
        merge_catalogs([both, both])


def test_match_filters_and_json_is_deterministic() -> None:
    opts = ImportOptions(match=r"YOLO11[nm]$")
    cat = import_table("yolo", YOLO, opts).catalog
    assert [m.id for m in cat.models] == ["ultralytics/YOLO11m", "ultralytics/YOLO11n"]
    assert catalog_json(cat) == catalog_json(import_table("yolo", YOLO, opts).catalog)
    with pytest.raises(PublishedTableError, match="selects no model"):
        import_table("yolo", YOLO, ImportOptions(match="nothing-like-this"))
    with pytest.raises(PublishedTableError, match="not a valid regex"):
        import_table("yolo", YOLO, ImportOptions(match="("))


@pytest.mark.parametrize(
    ("fmt", "path", "message"),
    [
        ("timm", YOLO, "looks like a yolo table"),
        ("yolo", TV, "looks like a torchvision table"),
        ("torchvision", TIMM, "missing column"),
        ("mlenergy", DATA / "mlenergy" / "v1-legacy" / "models.json", "not an ML.ENERGY v3 task"),
        ("mlenergy", DATA / "mlenergy" / "v1-legacy" / "score.csv", "<GPU>_<task>_benchmark.csv"),
        ("mlenergy", DATA / "nope.json", "no such file"),
        ("keras", YOLO, "unknown format"),
    ],
)
def test_wrong_or_missing_files_give_clear_errors(fmt: str, path: Path, message: str) -> None:
    with pytest.raises(PublishedTableError, match=message):
        import_table(fmt, path)


def test_malformed_values_name_file_line_and_column(tmp_path: Path) -> None:
    lines = YOLO.read_text().splitlines()
    bad = tmp_path / "yolo.csv"
    bad.write_text("\n".join([lines[0], lines[1].replace(",56.1,", ",fast,"), *lines[2:]]))
    with pytest.raises(PublishedTableError, match=r"yolo.csv:2: 'cpu_onnx_ms' is not a number"):
        import_table("yolo", bad)
    pct = tmp_path / "pct.csv"
    pct.write_text("\n".join([lines[0], lines[1].replace(",39.5,", ",139.5,")]) + "\n")
    with pytest.raises(PublishedTableError, match="not a percentage"):
        import_table("yolo", pct)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PublishedTableError, match="is empty"):
        import_table("yolo", empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(lines[0] + "\n")
    with pytest.raises(PublishedTableError, match="no data rows"):
        import_table("yolo", header_only)
    broken = tmp_path / "lm-arena-chat.json"
    broken.write_text('{"task": "lm-arena-chat", "configurations": [')
    with pytest.raises(PublishedTableError, match="not valid JSON"):
        import_table("mlenergy", broken)
    flow = tmp_path / "flow.csv"
    tv = TV.read_text().splitlines()
    flow.write_text("\n".join([tv[0], *[x for x in tv if ",optical_flow," in x]]) + "\n")
    with pytest.raises(PublishedTableError, match="no importable rows"):
        import_table("torchvision", flow)


def test_cli_writes_a_loadable_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yolo.json"
    code = main(
        [
            "catalog",
            "import",
            "yolo",
            str(YOLO),
            "--hardware",
            "gpu",
            "--task",
            "Object Detection",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert "5 published row(s)" in capsys.readouterr().out
    cat = load_catalog(out)
    assert {m.task for m in cat.models} == {"Object Detection"}
    assert all(m.provenance and m.provenance.source == "published" for m in cat.models)


def test_cli_prints_json_to_stdout_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "import", "mlenergy", str(T2I)]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert len(data["models"]) == 7
    assert "7 published row(s)" in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["catalog", "import", "timm", str(YOLO)],
        ["catalog", "import", "yolo", str(YOLO), "--hardware", "tpu"],
        ["catalog", "import", "yolo", str(YOLO), "--watts", "-5"],
        ["catalog", "import", "yolo", str(YOLO), "--batch", "4"],
        ["catalog", "import", "mlenergy", str(DATA / "missing.json")],
    ],
)
def test_cli_bad_input_exits_2_without_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.skipif(not SHARED.exists(), reason="shared data folder not present")
def test_full_public_tables_import() -> None:
    counts = {
        "timm-gpu": len(
            import_table(
                "timm", SHARED / "timm" / "results-imagenet.csv", ImportOptions(hardware="gpu")
            ).catalog.models
        ),
        "torchvision": len(
            import_table(
                "torchvision", SHARED / "torchvision" / "torchvision_weights_meta.csv"
            ).catalog.models
        ),
    }
    assert counts == {"timm-gpu": 1556, "torchvision": 141}
    for path in sorted((SHARED / "mlenergy" / "v3").glob("*.json")):
        if path.name == "index.json":
            continue
        for gpu in ("H100", "B200"):
            cat = import_table("mlenergy", path, ImportOptions(hardware=gpu)).catalog
            assert all(math.isfinite(m.energy_j) for m in cat.models)
