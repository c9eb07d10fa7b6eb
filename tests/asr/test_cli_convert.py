"""``bantin models convert-whisper``: a registered faster-whisper model rewritten for the other stacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.models import models_app
from domain.errors import InvalidInput
from engines import asr_openai, registry
from engines.registry import ModelChecksumMismatch, Task

pytestmark = pytest.mark.integration
runner = CliRunner()


def add_tiny(tiny_ct2: Path) -> None:
    args = ["add", "tiny", "--task", "asr", "--backend", "faster-whisper", "--path", str(tiny_ct2), "--lang", "vi",
            "--licence", "MIT", "--file", "model.bin"]
    assert runner.invoke(models_app, args).exit_code == 0


def test_convert_for_openai_and_register(tiny_ct2: Path, tmp_path: Path) -> None:
    add_tiny(tiny_ct2)
    out = runner.invoke(models_app, ["convert-whisper", str(tmp_path / "tiny.pt"), "--to", "openai",
                                     "--from", "tiny", "--register", "tiny-openai"])
    assert out.exit_code == 0, out.output
    assert "written for openai-whisper" in out.output and "registered" in out.output
    entry = registry.load_registry().get("tiny-openai")
    assert (entry.backend, entry.languages, entry.path) == ("openai-whisper", ("vi",), tmp_path / "tiny.pt")
    assert registry.verify(entry).status == "verified"
    assert registry.load_registry().pick(Task.ASR, "vi").name == "tiny"  # the first registered still wins
    # Loads through the backend (not transcribed: a random model with a 448-token context decodes for ~20 s).
    assert asr_openai.load(str(entry.path)).dims.n_text_ctx == 448


def test_convert_for_transformers_prints_how_to_register(tiny_ct2: Path, tmp_path: Path) -> None:
    add_tiny(tiny_ct2)
    out = convert(tmp_path / "hf", "transformers")
    assert out.exit_code == 0, out.output
    assert "--backend transformers-whisper" in out.output
    assert (tmp_path / "hf" / "model.safetensors").is_file() and (tmp_path / "hf" / "tokenizer.json").is_file()


def convert(out: Path, to: str, source: str = "tiny"):  # type: ignore[no-untyped-def]
    return runner.invoke(models_app, ["convert-whisper", str(out), "--to", to, "--from", source])


def test_convert_refuses_bad_requests(tiny_ct2: Path, tmp_path: Path) -> None:
    add_tiny(tiny_ct2)
    bad_target = convert(tmp_path / "x.pt", "onnx")
    assert isinstance(bad_target.exception, InvalidInput) and "--to must be one of" in str(bad_target.exception)
    not_pt = convert(tmp_path / "x.bin", "openai")
    assert isinstance(not_pt.exception, InvalidInput) and ".pt file" in str(not_pt.exception)
    (tmp_path / "taken.pt").write_bytes(b"keep")
    taken = convert(tmp_path / "taken.pt", "openai")
    assert isinstance(taken.exception, InvalidInput) and (tmp_path / "taken.pt").read_bytes() == b"keep"
    espeak = convert(tmp_path / "e.pt", "openai", "espeak-ng")
    assert isinstance(espeak.exception, InvalidInput) and "reads faster-whisper" in str(espeak.exception)


def test_convert_verifies_the_source_checksum(tiny_ct2: Path, tmp_path: Path) -> None:
    args = ["add", "tampered", "--task", "asr", "--backend", "faster-whisper", "--path", str(tiny_ct2), "--lang",
            "vi", "--licence", "MIT", "--file", "model.bin"]
    assert runner.invoke(models_app, args).exit_code == 0
    reg = registry.load_registry()
    entry = reg.get("tampered")
    import dataclasses

    reg.with_entry(dataclasses.replace(entry, sha256="c" * 64), replace_existing=True).save()
    out = convert(tmp_path / "t.pt", "openai", "tampered")
    assert isinstance(out.exception, ModelChecksumMismatch)
    assert not (tmp_path / "t.pt").exists()
