"""`planner.answer`: a run's outputs in plain language."""

from __future__ import annotations

import wave
from pathlib import Path

from planner.answer import compose_answer, describe_file, describe_output


def _wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return path


def test_files_are_paths_with_type_and_size(tmp_path: Path) -> None:
    wav = _wav(tmp_path / "speech.wav", 2.5)
    text = describe_file(str(wav))
    assert text.startswith(str(wav)) and "WAV audio" in text and "2.5 s" in text
    assert "78 KB" in text  # 80 044 bytes
    assert "missing" in describe_file(str(tmp_path / "gone.png"))
    assert "PNG image" in describe_file(str(tmp_path / "gone.png"))


def test_outputs_by_kind(tmp_path: Path) -> None:
    assert describe_output("Summarization", {"text": "The  council met."}) == '"The council met."'
    assert describe_output("Sentence Similarity", {"similarity": 0.8134, "text": "0.8134"}) == (
        "similarity 0.81 (1 = same meaning, 0 = unrelated)"
    )
    ents = {"entities": [{"text": "Ada", "label": "PERSON"}, {"text": "London", "label": "GPE"}]}
    assert describe_output("Token Classification", ents) == "Ada (PERSON); London (GPE)"
    assert describe_output("Token Classification", {"entities": []}) == "no entities found"
    assert describe_output("Audio Classification", {"label": "speech", "score": 0.9}) == (
        "speech (score 0.90)"
    )
    img = tmp_path / "x.png"
    img.write_bytes(b"\x89PNG" + b"0" * 2000)
    assert describe_output("Image-to-Image", {"image": str(img), "text": str(img)}) == (
        f"{img} (PNG image, 2 KB)"
    )
    long = describe_output("Text Generation", {"text": "word " * 500})
    assert len(long) < 700 and long.endswith('…"')


def test_final_outputs_first_then_the_steps_and_failures(tmp_path: Path) -> None:
    wav = _wav(tmp_path / "s.wav", 1.0)
    nodes = [
        {"id": "summary", "task": "Summarization", "model": "sum-lead", "depends_on": []},
        {"id": "speak", "task": "Text-to-Speech", "model": "tts-x", "depends_on": ["summary"]},
        {"id": "hear", "task": "Automatic Speech Recognition", "depends_on": ["speak"]},
        {"id": "names", "task": "Token Classification", "depends_on": []},
    ]
    outputs = {
        "summary": {"text": "Meeting on Friday."},
        "speak": {"audio": str(wav), "text": str(wav)},
        "names": {"entities": [{"text": "Friday", "label": "DATE"}]},
    }
    text = compose_answer("Read it aloud", nodes, outputs, {"hear": "ZooError: no audio"})
    lines = text.splitlines()
    assert lines[0] == "You asked: Read it aloud"
    assert lines[1] == "Answer (3 of 4 steps done):"
    # the final nodes (hear, names) come first, the intermediate ones after
    assert lines[2] == "- Automatic Speech Recognition (hear): no result (ZooError: no audio)"
    assert lines[3] == "- Token Classification (names): Friday (DATE)"
    assert lines[4] == "Along the way:"
    assert lines[5] == '- Summarization (summary, sum-lead): "Meeting on Friday."'
    assert lines[6].startswith(f"- Text-to-Speech (speak, tts-x): {wav} (WAV audio, 1.0 s")


def test_no_steps() -> None:
    assert compose_answer(None, [], {}) == "Answer: the plan has no steps."
