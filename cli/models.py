"""``bantin models``: list, verify and register the models the engines use.

Nothing here downloads: models are local files an operator installed, plus the bundled whisper-base that
is assembled from installed packages. Non-commercial licences (NLLB-200, MMS: CC-BY-NC) are flagged.
"""

from dataclasses import replace as with_fields
from pathlib import Path
from typing import Annotated

import typer

from cli.common import echo
from domain.errors import InvalidInput
from engines import registry, whisper_base
from engines.errors import EngineError

models_app = typer.Typer(help="Models for speech recognition, summaries, translation and speech.",
                         no_args_is_help=True)

NC_WARNING = "non-commercial licence: not for commercial use"


def _languages(entry: registry.ModelEntry) -> str:
    if len(entry.languages) > 6:
        return f"{len(entry.languages)} languages incl. {', '.join(c for c in ('vi', 'km') if c in entry.languages)}"
    return ",".join(entry.languages)


def _licence(entry: registry.ModelEntry) -> str:
    return f"{entry.licence or '?'}" + (" [NON-COMMERCIAL]" if entry.non_commercial else "")


@models_app.command("list")
def models_list() -> None:
    """List every model with its task, backend, languages, licence and checksum status."""
    reg = registry.load_registry()
    echo(f"registry: {reg.path}{'' if reg.path.exists() else ' (absent: embedded defaults only)'}")
    for entry in reg.all():
        check = registry.verify(entry)
        origin = "bundled" if entry.bundled else ("default" if entry not in reg.entries else "registry")
        echo(f"{entry.name:<20} {entry.task.value:<10} {entry.backend:<16} {_languages(entry):<28} "
             f"{_licence(entry):<24} {check.status:<14} {origin}")
        if entry.path is not None:
            echo(f"{'':<20} {entry.path}")
        if entry.non_commercial:
            echo(f"{'':<20} ! {NC_WARNING}")


@models_app.command("verify")
def models_verify(
    names: Annotated[list[str] | None, typer.Argument(help="Models to check (default: all).")] = None,
) -> None:
    """Check every model's files against its SHA-256 (assembling the bundled whisper-base if needed)."""
    reg = registry.load_registry()
    entries = [reg.get(n) for n in names] if names else list(reg.all())
    failed: list[str] = []
    for entry in entries:
        if entry.bundled:
            try:
                whisper_base.assemble(reg.cache_dir)
            except EngineError as exc:
                echo(f"{entry.name:<20} FAILED     {exc}")
                failed.append(entry.name)
                continue
        check = registry.verify(entry)
        echo(f"{entry.name:<20} {'ok' if check.ok else 'FAILED':<10} {check.status}: {check.detail}")
        if not check.ok:
            failed.append(entry.name)
    if failed:
        raise EngineError(f"{len(failed)} model(s) failed verification: {', '.join(failed)}")


@models_app.command("add")
def models_add(
    name: str,
    task: Annotated[str, typer.Option(help="asr, summarize, translate or tts.")],
    backend: Annotated[str, typer.Option(help="e.g. faster-whisper, nllb-ct2, piper, mms-tts.")],
    path: Annotated[Path, typer.Option(help="Local model file or directory.")],
    lang: Annotated[str, typer.Option(help="Languages it covers, e.g. vi,km (or *).")],
    licence: Annotated[str, typer.Option(help="Licence, e.g. MIT or CC-BY-NC-4.0.")],
    file: Annotated[str, typer.Option(help="File inside the directory whose SHA-256 to record "
                                           "(default: a digest of every file).")] = "",
    sha256: Annotated[str, typer.Option(help="Expected SHA-256; the files must match it.")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="Change an entry already registered.")] = False,
) -> None:
    """Register a local model; its SHA-256 is computed now and checked before every load."""
    reg = registry.load_registry()
    path = path.expanduser().resolve()
    if not path.exists():
        raise InvalidInput(f"model path not found: {path}")
    entry = registry.make_entry(
        {"name": name, "task": task, "backend": backend, "path": str(path), "languages": lang.split(","),
         "licence": licence, "file": file, "sha256": sha256},
        where=f"model '{name}'",
    )
    if file and not (path / file).is_file():
        raise InvalidInput(f"{path / file} is not a file")
    actual = registry.content_sha256(entry)
    if sha256 and actual != entry.sha256:
        raise registry.ModelChecksumMismatch(f"{path}: hashes to {actual[:12]}…, not the given {entry.sha256[:12]}…")
    reg = reg.with_entry(with_fields(entry, sha256=actual), replace_existing=replace)
    reg.save()
    echo(f"model {name} registered in {reg.path} ({task}, {backend}, sha256 {actual[:12]}…)")
    if reg.get(name).non_commercial:
        echo(f"! {name}: {NC_WARNING}")


CONVERT_TARGETS = {"openai": "openai-whisper", "transformers": "transformers-whisper"}


@models_app.command("convert-whisper")
def models_convert_whisper(
    out: Annotated[Path, typer.Argument(help="openai: the .pt file to write; transformers: a new directory.")],
    to: Annotated[str, typer.Option("--to", help="openai (openai-whisper checkpoint) or transformers.")],
    source: Annotated[str, typer.Option("--from", help="A faster-whisper model in the registry.")] = "whisper-base",
    register: Annotated[str, typer.Option(help="Also register the result under this name.")] = "",
    lang: Annotated[str, typer.Option(help="Languages for --register, e.g. vi (default: the source's).")] = "",
) -> None:
    """Write the same Whisper weights for openai-whisper or transformers (default: the bundled whisper-base).

    The source is checksum-verified first (the bundled model is assembled if needed); the output is
    written under a temporary name and moved into place only when complete.
    """
    from engines import whisper_convert

    if to not in CONVERT_TARGETS:
        raise InvalidInput(f"--to must be one of {', '.join(CONVERT_TARGETS)}, not '{to}'")
    out = out.expanduser().resolve()
    if to == "openai" and out.suffix != ".pt":
        raise InvalidInput(f"{out}: an openai-whisper checkpoint is a .pt file")
    if out.exists():
        raise InvalidInput(f"{out} already exists; remove it or choose another path")
    reg = registry.load_registry()
    entry = reg.get(source)
    if entry.backend != "faster-whisper":
        raise InvalidInput(f"model '{source}' is a {entry.backend} model; convert-whisper reads faster-whisper "
                           "(CTranslate2) models")
    ct2_dir = registry.require(entry)  # assembled and verified before a byte is converted
    if to == "openai":
        whisper_convert.to_openai_whisper(ct2_dir, out)
    else:
        whisper_convert.to_transformers(ct2_dir, out)
    backend = CONVERT_TARGETS[to]
    converted = registry.make_entry(
        {"name": register or f"{source}-{to}", "task": "asr", "backend": backend, "path": str(out),
         "languages": lang.split(",") if lang else list(entry.languages), "licence": entry.licence},
        where="converted model",
    )
    digest = registry.content_sha256(converted)
    echo(f"{source} written for {backend}: {out} (sha256 {digest[:12]}…)")
    if register:
        reg = reg.with_entry(with_fields(converted, sha256=digest))
        reg.save()
        echo(f"model {register} registered in {reg.path} ({backend}, {_languages(converted)})")
    else:
        echo(f"register it with: bantin models add NAME --task asr --backend {backend} --path {out} "
             f"--lang vi --licence {entry.licence or '?'}")
