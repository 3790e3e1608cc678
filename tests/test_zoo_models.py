"""The zoo's OCR, speech, audio and text models: real outputs checked for content.

A model whose program or package is not installed is skipped with the reason and the
install command (`profiles.zoo.availability`), never failed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from profiles.zoo import MODEL_CLASSES, ZooError, availability, get_model, task_eval
from profiles.zoo.media import (
    cer,
    chrf,
    edit_distance,
    noisy,
    read_wav,
    rouge1,
    snr_db,
    wer,
    write_wav,
)

pytest.importorskip("scipy")


def need(name: str) -> None:
    ok, why = availability(name)
    if not ok:
        pytest.skip(f"{name} is not available here: {why}")


def test_metrics_known_answers() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert wer("the cat sat", "The cat sat.") == 0.0
    assert wer("the cat", "the cat sat on") == 0.5
    assert wer("meet at 10", "Meet at ten.") == 0.0  # small numbers read as words
    assert cer("abc  d", "abc d") == 0.0
    assert cer("abd", "abc") == pytest.approx(1 / 3)
    assert chrf("El gato duerme.", "El gato duerme.") == pytest.approx(1.0)
    assert 0 < chrf("El perro duerme.", "El gato duerme.") < 1
    assert rouge1("a b c", "a b d") == pytest.approx(2 / 3)
    assert rouge1("x", "y") == 0.0


def test_wav_round_trip_and_snr(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    write_wav(tmp_path / "a.wav", (x, 16000))
    y, sr = read_wav(tmp_path / "a.wav")
    assert sr == 16000 and np.max(np.abs(x - y)) < 1e-4
    assert snr_db(x, noisy(x, 10, seed=0)) == pytest.approx(10, abs=0.01)
    (tmp_path / "bad.wav").write_bytes(b"not a wave file at all")
    with pytest.raises(ZooError, match="not a PCM WAV"):
        read_wav(tmp_path / "bad.wav")


def test_every_task_has_an_evaluation_set_and_each_model_a_licence() -> None:
    for cls in MODEL_CLASSES.values():
        assert cls.licence and cls.summary, cls.name
        assert cls.missing() == [] or cls.install, cls.name  # how to get what is missing


@pytest.mark.parametrize("name", ["ocr-tesseract", "ocr-gocr", "ocr-ocrad"])
def test_ocr_reads_a_rendered_sign(name: str) -> None:
    need(name)
    from profiles.zoo.ocr import render_text

    img = render_text("Welcome to the museum", "DejaVuSans.ttf", 28)
    text = get_model(name).run({"image": img.tolist()})["text"]
    assert cer(text, "Welcome to the museum") <= (0.0 if name == "ocr-tesseract" else 0.15)


def test_ocr_reads_an_image_file(tmp_path: Path) -> None:
    need("ocr-tesseract")
    from PIL import Image

    from profiles.zoo.ocr import render_text

    Image.fromarray(render_text("Exit only\nNo entry", size=30)).save(tmp_path / "sign.png")
    out = get_model("ocr-tesseract").run({"image": str(tmp_path / "sign.png")})
    assert out["text"] == "Exit only No entry"


@pytest.mark.parametrize(
    ("voice", "max_wer"), [("tts-piper-joe", 0.12), ("tts-flite-slt", 0.3), ("tts-espeak-ng", 0.5)]
)
def test_speech_round_trip(voice: str, max_wer: float, tmp_path: Path) -> None:
    need(voice)
    need("asr-whisper-base")
    sentence = "Your package has shipped and will arrive on Monday."
    out = get_model(voice).run({"text": sentence, "output_dir": str(tmp_path)})
    wav = Path(out["audio"])
    assert wav.parent == tmp_path and wav.suffix == ".wav" and out["seconds"] > 1
    heard = get_model("asr-whisper-base").run({"audio": str(wav)})["text"]
    assert wer(heard, sentence) <= max_wer, heard


def test_pocketsphinx_transcribes_a_clear_voice(tmp_path: Path) -> None:
    need("asr-pocketsphinx")
    need("tts-piper-joe")
    sentence = "Please close the window before you leave."
    wav = get_model("tts-piper-joe").run({"text": sentence, "output_dir": str(tmp_path)})
    heard = get_model("asr-pocketsphinx").run({"audio": wav["audio"]})["text"]
    assert wer(heard, sentence) <= 0.5, heard


def test_speech_detection_and_enhancement(tmp_path: Path) -> None:
    need("vad-silero")
    need("tts-piper-joe")
    wav = get_model("tts-piper-joe").run(
        {"text": "The train is running late today.", "output_dir": str(tmp_path)}
    )
    x, sr = read_wav(wav["audio"])
    write_wav(tmp_path / "noise.wav", (0.1 * np.random.default_rng(0).standard_normal(sr * 2), sr))
    vad = get_model("vad-silero")
    assert vad.run({"audio": wav["audio"]})["label"] == "speech"
    assert vad.run({"audio": str(tmp_path / "noise.wav")})["label"] == "no speech"
    write_wav(tmp_path / "noisy.wav", (noisy(x, 5, seed=3), sr))
    for name in ("enhance-spectral-gate", "enhance-wiener"):
        out = get_model(name).run(
            {"audio": str(tmp_path / "noisy.wav"), "output_dir": str(tmp_path)}
        )
        y, rate = read_wav(out["audio"])
        assert rate == sr and snr_db(x, y) > 5.5, name  # better than the 5 dB input


def test_entities_summaries_and_answers() -> None:
    need("ner-spacy-sm")
    out = get_model("ner-spacy-sm").run({"text": "Barack Obama visited Berlin in July."})
    found = {(e["text"], e["label"]) for e in out["entities"]}
    assert {("Barack Obama", "PERSON"), ("Berlin", "GPE"), ("July", "DATE")} <= found
    assert "Barack Obama (PERSON)" in out["text"]
    base = get_model("ner-capitalised").run({"text": "Ada Lovelace was born in London."})
    assert [e["text"] for e in base["entities"]] == ["Ada Lovelace", "London"]
    memo = (
        "The council approved three new bus routes on Tuesday. The debate was long. "
        "Residents complained about noise."
    )
    for name in ("sum-lead", "sum-textrank"):
        assert get_model(name).run({"text": memo})["text"] == (
            "The council approved three new bus routes on Tuesday."
        )
    qa = {
        "text": "Where is the Eiffel Tower?",
        "text2": "It is tall. The Eiffel Tower is in Paris.",
    }
    assert get_model("qa-overlap").run(qa)["text"] == "The Eiffel Tower is in Paris."
    with pytest.raises(ZooError, match="passage"):
        get_model("qa-overlap").run({"text": "Who wrote it?"})


def test_translation_both_directions() -> None:
    need("mt-apertium")
    model = get_model("mt-apertium")
    spanish = model.run({"text": "The cat is sleeping on the sofa."})["text"]
    assert chrf(spanish, "El gato está durmiendo en el sofá.") > 0.6, spanish
    english = model.run({"text": "Buenos días a todos"})["text"]
    assert "morning" in english.lower() or "good" in english.lower(), english


def test_unavailable_models_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda p: None if p == "tesseract" else real(p))
    cls = MODEL_CLASSES["ocr-tesseract"]
    assert not cls.available()
    ok, why = availability("ocr-tesseract")
    assert not ok and "apt-get install tesseract-ocr tesseract-ocr-eng" in why
    with pytest.raises(ZooError, match="needs program 'tesseract'; install: apt-get"):
        cls().load()
    from profiles.zoo import shipped_catalog

    assert "ocr-tesseract" not in {m.id for m in shipped_catalog().models}
    assert "ocr-tesseract" in {m.id for m in shipped_catalog(available_only=False).models}


def test_tfidf_similarity_knows_the_words_it_compares() -> None:
    model = get_model("sim-tfidf")
    same = model.run({"text1": "the cat sat on the mat", "text2": "a cat sat on a mat"})
    assert same["similarity"] > 0.9
    part = model.run({"text1": "the meeting is at noon", "text2": "lunch at noon in the hall"})
    assert 0 < part["similarity"] < 0.9
    assert model.run({"text1": "green apples", "text2": "fast trains"})["similarity"] == 0.0


def test_audio_eval_prefixes_hold_both_classes() -> None:
    need("tts-piper-joe")
    ev = task_eval("Audio Classification", 4)
    assert ev is not None and set(ev.expected) == {"speech", "no speech"}
