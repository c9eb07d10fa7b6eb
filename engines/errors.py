"""Errors raised by the engines.

Callers (tasks/) decide whether to retry from the class alone: ``MediaError``, ``VoiceUnavailable``,
``RenderError`` and ``SummaryError`` are permanent for a given input, while a bare ``EngineError``
(a missing binary, a timeout) may go away on another machine or another attempt. Messages are one
line so they read well in the audit log and in the operator UI.
"""


class EngineError(Exception):
    """An engine could not do its job (missing tool, timeout, unexpected tool failure)."""


class MediaError(EngineError):
    """Audio is missing, empty, corrupt, unreadable or silent."""


class VoiceUnavailable(EngineError):
    """The speech engine has no voice for the requested language."""


class RenderError(EngineError):
    """A slide could not be rendered (typically: no font for the script)."""


class SummaryError(EngineError):
    """The text cannot be summarised (typically: it is empty)."""


def stderr_tail(stderr: bytes | str, *, lines: int = 3, limit: int = 300) -> str:
    """Return the last few non-empty lines of a tool's stderr, joined on one line.

    Args:
        stderr: Raw stderr from a subprocess.
        lines: How many trailing non-empty lines to keep.
        limit: Maximum number of characters returned (the end is kept, it holds the cause).

    Returns:
        A single line such as ``"a.mp3: Invalid data found when processing input"``.
    """
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    joined = " | ".join(kept)
    return joined if len(joined) <= limit else "…" + joined[-limit:]
