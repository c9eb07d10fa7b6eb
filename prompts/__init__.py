"""Versioned prompt and template texts, loaded by name and version.

Every produced asset records the name, version and SHA-256 of the text that shaped it, so a change of
wording is visible in the audit log and invalidates cached results.
"""

import hashlib
import string
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    version: int
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def ref(self) -> str:
        return f"{self.name}/v{self.version}"

    def render(self, **values: str) -> str:
        """Fill ``$name`` placeholders; a missing value is an error, not a silent blank."""
        return string.Template(self.text).substitute(values)


def load_prompt(name: str, version: int) -> Prompt:
    """Read ``prompts/<name>/v<version>.txt`` from the package.

    Raises:
        FileNotFoundError: no such prompt or version.
    """
    path = resources.files("prompts").joinpath(name, f"v{version}.txt")
    if not path.is_file():
        raise FileNotFoundError(f"prompt {name}/v{version} does not exist")
    return Prompt(name, version, path.read_text(encoding="utf-8"))


def load_data(name: str, filename: str) -> tuple[str, str]:
    """Read a versioned data file ``prompts/<name>/<filename>`` (e.g. ``intake``, ``rules-v1.tsv``).

    Returns:
        ``(ref, text)`` where ref is ``name/filename-stem`` for provenance.

    Raises:
        FileNotFoundError: no such file.
    """
    path = resources.files("prompts").joinpath(name, filename)
    if not path.is_file():
        raise FileNotFoundError(f"data file {name}/{filename} does not exist")
    return f"{name}/{filename.rsplit('.', 1)[0]}", path.read_text(encoding="utf-8")
