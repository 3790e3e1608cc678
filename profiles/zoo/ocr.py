"""Image-to-Text as OCR: Tesseract 5 (LSTM, Debian ``tesseract-ocr`` + ``tesseract-ocr-eng``,
Apache-2.0), GOCR and Ocrad (Debian ``gocr``, ``ocrad``; GPL, run as separate programs).

Evaluation: 20 hand-written lines rendered with Pillow in four DejaVu fonts that ship with
matplotlib, at 18-30 px, the odd ones with seeded Gaussian noise (sigma 20/255) and a slight
blur; quality is ``1 - CER`` (character error rate, white space runs counted as one)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooError, ZooModel
from profiles.zoo.media import cer, grey_uint8, write_pgm

LINES = (
    "The quick brown fox jumps over the lazy dog.",
    "Open daily from 9 to 5, closed on Sundays.",
    "Please keep this door closed at all times.",
    "Platform 4: the next train leaves at 10:45.",
    "Fresh coffee and tea served all day.",
    "Exit only. No entry for bicycles.",
    "Invoice total: 128 euros, due on 3 March.",
    "Meeting room B is on the second floor.",
    "Caution: wet floor, walk slowly.",
    "Welcome to the city museum of science.",
    "Turn off the lights when you leave.",
    "Parking for customers only, 2 hours max.",
    "Library hours change during the holidays.",
    "All visitors must sign in at reception.",
    "Keep calm and carry on reading.",
    "Room 12 is reserved for the lecture.",
    "Buy two loaves of bread and get one free.",
    "The museum opens again on Monday morning.",
    "Lost keys can be collected at the front desk.",
    "Do not feed the animals in the park.",
)
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf")


def font_path(name: str) -> Path:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if not path.is_file():
        raise ZooError(f"matplotlib's font {name} is missing ({path})")
    return path


def render_text(
    text: str, font: str = "DejaVuSans.ttf", size: int = 26, pad: int = 14
) -> np.ndarray:
    """Dark text on a light background as an 8-bit grey array (lines split on newlines)."""
    from PIL import Image, ImageDraw, ImageFont

    f = ImageFont.truetype(str(font_path(font)), size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=f, spacing=size // 3)
    img = Image.new("L", (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad), 255)
    ImageDraw.Draw(img).multiline_text(
        (pad - left, pad - top), text, fill=0, font=f, spacing=size // 3
    )
    return np.asarray(img, dtype=np.uint8)


@functools.cache
def ocr_lines() -> tuple[np.ndarray, ...]:
    from scipy.ndimage import gaussian_filter

    out = []
    for i, text in enumerate(LINES):
        img = render_text(text, FONTS[i % len(FONTS)], 18 + (i * 5) % 13).astype(np.float64)
        if i % 2:
            img = gaussian_filter(img, 0.6)
            img = img + np.random.default_rng(i).normal(0, 20, img.shape)
        out.append(np.clip(np.round(img), 0, 255).astype(np.uint8))
    return tuple(out)


def _score(predictions: list[str], expected: list[str]) -> float:
    return 1.0 - float(
        np.mean([min(cer(p, e), 1.0) for p, e in zip(predictions, expected, strict=True)])
    )


def ocr_eval(limit: int | None = None) -> TaskEval:
    n = min(limit or len(LINES), len(LINES))
    return TaskEval(
        task="Image-to-Text",
        metric="1 - character error rate (OCR)",
        dataset=f"{n} hand-written lines rendered with Pillow in 4 DejaVu fonts from matplotlib, "
        "18-30 px, odd lines blurred + noise sigma 20/255 seeded (profiles/zoo/ocr.py)",
        inputs=list(ocr_lines()[:n]),
        expected=list(LINES[:n]),
        scorer=_score,
    )


class OcrProgram(ZooModel):
    """A command-line OCR program reading a PGM file."""

    task: ClassVar[str] = "Image-to-Text"

    def _load(self) -> None:
        pass

    def argv(self, path: str) -> list[str]:
        raise NotImplementedError

    def predict(self, x: Any) -> str:
        from profiles.subprocess_adapter import CommandError, run_command

        with tempfile.TemporaryDirectory(prefix="planner-ocr-") as tmp:
            path = write_pgm(grey_uint8(x), folder=tmp)
            try:
                text, cpu = run_command(
                    self.argv(str(path)), model=self.name, timeout_s=60, install=self.install
                )
            except CommandError as exc:
                raise ZooError(str(exc)) from exc
        self.child_cpu_s += cpu
        return " ".join(line.strip() for line in text.splitlines() if line.strip())


class Tesseract(OcrProgram):
    name: ClassVar[str] = "ocr-tesseract"
    summary: ClassVar[str] = "Tesseract 5 LSTM OCR, English model, automatic page segmentation"
    programs: ClassVar[tuple[str, ...]] = ("tesseract",)
    install: ClassVar[str | None] = "apt-get install tesseract-ocr tesseract-ocr-eng"
    licence: ClassVar[str] = "Apache-2.0 (Tesseract and its eng model; run as a separate program)"

    def argv(self, path: str) -> list[str]:
        return ["tesseract", path, "stdout", "-l", "eng", "--psm", "6"]


class Gocr(OcrProgram):
    name: ClassVar[str] = "ocr-gocr"
    summary: ClassVar[str] = "GOCR 0.52 (feature-based, no trained model)"
    programs: ClassVar[tuple[str, ...]] = ("gocr",)
    install: ClassVar[str | None] = "apt-get install gocr"
    licence: ClassVar[str] = "GPL-2.0-or-later (run as a separate program)"

    def argv(self, path: str) -> list[str]:
        return ["gocr", "-i", path]


class Ocrad(OcrProgram):
    name: ClassVar[str] = "ocr-ocrad"
    summary: ClassVar[str] = "GNU Ocrad 0.28 (feature extraction, no trained model)"
    programs: ClassVar[tuple[str, ...]] = ("ocrad",)
    install: ClassVar[str | None] = "apt-get install ocrad"
    licence: ClassVar[str] = "GPL-2.0-or-later (run as a separate program)"

    def argv(self, path: str) -> list[str]:
        return ["ocrad", path]


MODELS: tuple[type[OcrProgram], ...] = (Tesseract, Gocr, Ocrad)
