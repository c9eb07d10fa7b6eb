"""Charts for reports and the dashboard, rendered server-side with matplotlib (PNG), so they show the same on
a phone and in the PDF. Text uses Noto Sans, which has every Vietnamese letter."""

import io
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to bytes

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from settings import get_settings  # noqa: E402

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/noto"), Path("/usr/share/fonts"))
COLOUR = "#1f4e8c"


@lru_cache(maxsize=4)
def font_file(bold: bool = False) -> Path | None:
    """Noto Sans (regular or bold) from the configured font directory or the system's; None if absent."""
    name = "NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf"
    extra = get_settings().font_dir
    for d in ((extra,) if extra else ()) + FONT_DIRS:
        for path in (d / name, *sorted(d.rglob(name))[:1]) if d.is_dir() else ():
            if path.is_file():
                return path
    return None


def _font() -> dict[str, object]:
    path = font_file()
    if path is None:
        return {}
    font_manager.fontManager.addfont(str(path))
    return {"family": font_manager.FontProperties(fname=str(path)).get_name()}


def _png(fig: "plt.Figure") -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def bars(labels: list[str], values: list[float], *, title: str, xlabel: str = "", horizontal: bool = False,
         limit: int = 40) -> bytes:
    """A bar chart: vertical for a series (e.g. days), horizontal for long names (e.g. communes, at most
    ``limit`` bars)."""
    if horizontal:
        labels, values = labels[:limit], values[:limit]
    font = _font()
    height = max(2.6, 0.28 * len(labels) + 1.2) if horizontal else 3.2
    fig, ax = plt.subplots(figsize=(7.2, height))
    if horizontal:
        ax.barh(range(len(values)), values, color=COLOUR)
        ax.set_yticks(range(len(labels)), labels, fontsize=8, **font)
        ax.invert_yaxis()
    else:
        ax.bar(range(len(values)), values, color=COLOUR)
        step = max(1, len(labels) // 12)
        ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right", fontsize=7, **font)
    ax.set_title(title, fontsize=11, **font)
    if xlabel:
        (ax.set_xlabel if horizontal else ax.set_ylabel)(xlabel, fontsize=8, **font)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def histogram(values: list[float], *, title: str, xlabel: str) -> bytes:
    font = _font()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    if values:
        ax.hist(values, bins=min(30, max(5, len(values) // 3)), color=COLOUR)
    ax.set_title(title, fontsize=11, **font)
    ax.set_xlabel(xlabel, fontsize=8, **font)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
