"""Charts for reports and the dashboard, rendered server-side with matplotlib (PNG), so they show the same on
a phone and in the PDF. Text uses Noto Sans, which has every Vietnamese letter."""

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to bytes

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from services.caches import CACHES  # noqa: E402
from settings import get_settings  # noqa: E402

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/noto"), Path("/usr/share/fonts"))
COLOUR = "#1f4e8c"


def font_file(bold: bool = False) -> Path | None:
    """Noto Sans (regular or bold) from the configured font directory or the system's; None if absent."""
    return CACHES.fonts.get_or_build(bold, lambda: _find_font(bold))


def _find_font(bold: bool) -> Path | None:
    name = "NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf"
    extra = get_settings().font_dir
    for d in ((extra,) if extra else ()) + FONT_DIRS:
        for path in (d / name, *sorted(d.rglob(name))[:1]) if d.is_dir() else ():
            if path.is_file():
                return path
    return None


def _font() -> dict[str, Any]:  # Text properties: matplotlib types them as **kwargs: Any
    """The Noto Sans family as keyword arguments of matplotlib's text calls (none: matplotlib's default)."""
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


def day_label(iso_day: str) -> str:
    """A day on a chart's axis as Vietnamese readers write it: ``"2026-11-09"`` -> ``"09/11"``."""
    return f"{iso_day[8:10]}/{iso_day[5:7]}"


def bars(labels: list[str], values: list[float], *, title: str, xlabel: str = "", horizontal: bool = False,
         limit: int = 40) -> bytes:
    """A bar chart: vertical for a series (e.g. days), horizontal for long names (e.g. communes, at most
    ``limit`` bars)."""
    return _png(bars_figure(labels, values, title=title, xlabel=xlabel, horizontal=horizontal, limit=limit))


def bars_figure(labels: list[str], values: list[float], *, title: str, xlabel: str = "", horizontal: bool = False,
                limit: int = 40) -> "plt.Figure":
    """The figure of ``bars``. The value axis starts at 0 (0 to 1 when every value is 0, not -0.04 to 0.04),
    with whole-number ticks when the values are counts."""
    from matplotlib.ticker import MaxNLocator

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
    axis, set_lim = (ax.xaxis, ax.set_xlim) if horizontal else (ax.yaxis, ax.set_ylim)
    top = max(values, default=0)
    set_lim(0, None if top > 0 else 1)
    if all(float(v).is_integer() for v in values):
        axis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def histogram(values: list[float], *, title: str, xlabel: str) -> bytes:
    font = _font()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    if values:
        ax.hist(values, bins=min(30, max(5, len(values) // 3)), color=COLOUR)
    ax.set_title(title, fontsize=11, **font)
    ax.set_xlabel(xlabel, fontsize=8, **font)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def coverage_grid(groups: list[tuple[str, list[tuple[str, float | None]]]], *, title: str, no_devices: str,
                  per_row: int = 10) -> bytes:
    """A tile map of communes: one tile per commune, grouped in rows under their district (or province), coloured
    by a percentage (red 0 -> green 100; grey: no devices) and labelled with the figure and the commune's name.

    No commune boundaries ship with bantin under a licence it can use, so this is a grid heat map by commune
    rather than a geographic map; the tiles keep the administrative grouping an officer reads a province by.
    """
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    font = _font()
    cmap = colormaps["RdYlGn"]
    lines: list[tuple[str | None, list[tuple[str, float | None]]]] = []
    for name, tiles in groups:
        for i in range(0, max(1, len(tiles)), per_row):
            lines.append((name if i == 0 else None, tiles[i:i + per_row]))
    rows = max(1, len(lines))
    fig, ax = plt.subplots(figsize=(7.6, 0.62 * rows + 1.0))
    label_w = 2.2
    for r, (group, tiles) in enumerate(lines):
        y = rows - 1 - r
        if group:
            ax.text(label_w - 0.1, y + 0.5, group, ha="right", va="center", fontsize=7, fontweight="bold", **font)
        for c, (name, value) in enumerate(tiles):
            x = label_w + c
            colour = "#d9d9d9" if value is None else cmap(max(0.0, min(100.0, value)) / 100.0)
            ax.add_patch(Rectangle((x + 0.04, y + 0.06), 0.92, 0.88, facecolor=colour, edgecolor="white"))
            ink = "white" if value is not None and not 15 <= value <= 85 else "black"  # dark ends of the scale
            ax.text(x + 0.5, y + 0.62, "–" if value is None else f"{value:.0f}%", ha="center", va="center",
                    fontsize=7, fontweight="bold", color=ink, **font)
            short = next((name[len(p):] for p in ("Thị trấn ", "Xã ", "Phường ") if name.startswith(p)), name)
            ax.text(x + 0.5, y + 0.25, short[:12], ha="center", va="center", fontsize=4.6, color=ink, **font)
    ax.set_xlim(0, label_w + per_row)
    ax.set_ylim(-0.6, rows)
    for k, v in enumerate((0, 50, 100)):
        ax.add_patch(Rectangle((label_w + 2.2 * k, -0.5), 0.3, 0.3, facecolor=cmap(v / 100.0)))
        ax.text(label_w + 2.2 * k + 0.4, -0.35, f"{v}%", fontsize=6, va="center", **font)
    ax.add_patch(Rectangle((label_w + 6.6, -0.5), 0.3, 0.3, facecolor="#d9d9d9"))
    ax.text(label_w + 7.0, -0.35, no_devices, fontsize=6, va="center", **font)
    ax.set_title(title, fontsize=11, **font)
    ax.axis("off")
    return _png(fig)
