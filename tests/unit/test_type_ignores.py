"""Every ``# type: ignore`` in the packages mypy checks names its error code and says why."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
IGNORE = re.compile(r"#\s*type:\s*ignore")
WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[a-z0-9-]+(?:,\s*[a-z0-9-]+)*\]\s+#\s*\S")


def _checked() -> list[str]:
    """The paths of the Makefile's mypy line (the one `make test` runs)."""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] == "$(VENV)/bin/mypy":
            return words[1:]
    raise AssertionError("the Makefile's test target runs no mypy")


def test_mypy_covers_the_pure_and_storage_layers() -> None:
    assert {"domain", "prompts", "storage", "settings.py"} <= set(_checked())


def test_every_type_ignore_in_checked_code_has_a_code_and_a_reason() -> None:
    bare = []
    for target in _checked():
        path = ROOT / target
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                if IGNORE.search(line) and not WITH_REASON.search(line):
                    bare.append(f"{file.relative_to(ROOT)}:{n}")
    assert bare == []


def test_no_checked_module_is_exempted_from_mypy() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    overrides = config["tool"]["mypy"].get("overrides", [])
    assert [o["module"] for o in overrides if o.get("ignore_errors")] == []
