"""Shared helpers of the zoo's text, speech and OCR models: WAV files, grey images for
command-line tools, and the quality metrics (word and character error rates, chrF, ROUGE-1,
entity F1) their evaluation sets use."""

from __future__ import annotations

import os
import re
import tempfile
import wave
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from profiles.zoo.base import ZooError

#: (mono float32 samples in [-1, 1], sample rate in Hz)
Audio = tuple[np.ndarray, int]

_WORD = re.compile(r"[a-z0-9']+")


# --------------------------------------------------------------------------- audio


def read_wav(path: str | Path) -> Audio:
    """A PCM WAV file (8, 16 or 32 bit, any channels) as mono float32 samples."""
    try:
        with wave.open(str(path), "rb") as w:
            sr, n, ch, width = w.getframerate(), w.getnframes(), w.getnchannels(), w.getsampwidth()
            raw = w.readframes(n)
    except (wave.Error, EOFError) as exc:
        raise ZooError(f"{path}: not a PCM WAV file ({exc}); convert it to .wav first") from exc
    except OSError as exc:
        raise ZooError(f"cannot read audio {path}: {exc}") from exc
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        raise ZooError(f"{path}: {8 * width}-bit WAV is not supported (use 16-bit PCM)")
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return np.ascontiguousarray(x, dtype=np.float32), int(sr)


def write_wav(path: str | Path, audio: Audio) -> None:
    """16-bit mono PCM."""
    x, sr = audio
    pcm = np.round(np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())


def resample(audio: Audio, rate: int) -> np.ndarray:
    """Samples at ``rate`` Hz (polyphase filter)."""
    x, sr = audio
    if sr == rate:
        return np.asarray(x, dtype=np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr), int(rate))
    return resample_poly(x, rate // g, sr // g).astype(np.float32)


def as_audio(value: Any, key: str = "audio") -> Audio:
    """A JSON audio input (a .wav path) or a native ``(samples, rate)`` pair."""
    if isinstance(value, str):
        if not Path(value).is_file():
            raise ZooError(f"input {key!r}: no such audio file {value!r}")
        return read_wav(value)
    if isinstance(value, tuple) and len(value) == 2:
        return np.asarray(value[0], dtype=np.float32), int(value[1])
    raise ZooError(f"input {key!r}: expected the path of a .wav file")


def output_file(inputs: dict[str, Any], prefix: str, suffix: str) -> Path:
    """A fresh file in the node's ``output_dir`` (or a temporary folder)."""
    folder = Path(inputs.get("output_dir") or tempfile.mkdtemp(prefix="planner-zoo-"))
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    os.close(fd)
    return Path(name)


def noisy(x: np.ndarray, snr_db: float, seed: int, kind: str = "white") -> np.ndarray:
    """``x`` plus seeded white or pink noise at ``snr_db``."""
    rng = np.random.default_rng(seed)
    n = rng.standard_normal(len(x))
    if kind == "pink":
        spec = np.fft.rfft(n)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        n = np.fft.irfft(spec / np.sqrt(f), len(x))
    p_sig = float(np.mean(x.astype(np.float64) ** 2)) or 1e-12
    n *= np.sqrt(p_sig / (10 ** (snr_db / 10)) / float(np.mean(n**2)))
    return (x + n).astype(np.float32)


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    """SNR of ``estimate`` against ``clean`` (aligned, same rate), in dB."""
    n = min(len(clean), len(estimate))
    c, e = clean[:n].astype(np.float64), estimate[:n].astype(np.float64)
    err = float(np.sum((c - e) ** 2)) or 1e-12
    return 10 * np.log10(float(np.sum(c**2)) / err)


# --------------------------------------------------------------------------- images


def grey_uint8(img: np.ndarray) -> np.ndarray:
    """A grey image as 8-bit (floats in [0, 1] are scaled)."""
    arr = np.asarray(img)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2)
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        if arr.size and arr.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    return arr


def write_pgm(img: np.ndarray, folder: str | None = None) -> Path:
    """A binary PGM file of a grey image (every OCR program here reads PGM)."""
    arr = grey_uint8(img)
    fd, name = tempfile.mkstemp(suffix=".pgm", dir=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(f"P5\n{arr.shape[1]} {arr.shape[0]}\n255\n".encode())
        f.write(np.ascontiguousarray(arr).tobytes())
    return Path(name)


# --------------------------------------------------------------------------- metrics


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("-", " "))


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


_NUMBERS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "10": "ten",
    "11": "eleven",
    "12": "twelve",
}


def _spoken(text: str) -> list[str]:
    return [_NUMBERS.get(w, w) for w in words(text)]


def wer(hypothesis: str, reference: str) -> float:
    """Word error rate, lower-cased, punctuation dropped, digits up to 12 read as words."""
    ref = _spoken(reference)
    return edit_distance(_spoken(hypothesis), ref) / max(len(ref), 1)


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate, runs of white space counted as one space."""
    h, r = " ".join(hypothesis.split()), " ".join(reference.split())
    return edit_distance(h, r) / max(len(r), 1)


def chrf(hypothesis: str, reference: str, n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015): character n-gram F-beta, n = 1..6, spaces removed."""
    h, r = "".join(hypothesis.split()), "".join(reference.split())
    precisions, recalls = [], []
    for k in range(1, n + 1):
        hc = Counter(h[i : i + k] for i in range(len(h) - k + 1))
        rc = Counter(r[i : i + k] for i in range(len(r) - k + 1))
        if not hc or not rc:
            continue
        overlap = sum((hc & rc).values())
        precisions.append(overlap / sum(hc.values()))
        recalls.append(overlap / sum(rc.values()))
    if not precisions:
        return 0.0
    p, rr = float(np.mean(precisions)), float(np.mean(recalls))
    if p + rr == 0:
        return 0.0
    return (1 + beta**2) * p * rr / (beta**2 * p + rr)


def rouge1(hypothesis: str, reference: str) -> float:
    """ROUGE-1 F1: unigram overlap of lower-cased words."""
    h, r = Counter(words(hypothesis)), Counter(words(reference))
    overlap = sum((h & r).values())
    if not overlap:
        return 0.0
    p, rr = overlap / sum(h.values()), overlap / sum(r.values())
    return 2 * p * rr / (p + rr)


def sentences(text: str) -> list[str]:
    """Split on ., ! or ? followed by white space (abbreviations are not special-cased)."""
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p.strip() for p in parts if p.strip()]
