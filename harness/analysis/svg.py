"""Inline SVG charts (no scripts, no network): horizontal bars and a trend line."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_H = 22
LABEL_W = 260
PLOT_W = 420


def bars(title: str, rows: Sequence[tuple[str, float, str]], maximum: float = 1.0, fill: str = "") -> str:
    """Horizontal bars: (label, value, caption) scaled to ``maximum``; colour by rate unless ``fill``."""
    height = 30 + BAR_H * max(len(rows), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{LABEL_W + PLOT_W + 90}" '
             f'height="{height}" viewBox="0 0 {LABEL_W + PLOT_W + 90} {height}">',
             f"<title>{escape(title)}</title>",
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    for n, (label, value, caption) in enumerate(rows):
        y = 26 + n * BAR_H
        width = 0.0 if maximum <= 0 else max(0.0, min(1.0, value / maximum)) * PLOT_W
        parts += [f'<text x="{LABEL_W - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                  f"{escape(label[-40:])}</text>",
                  f'<rect x="{LABEL_W}" y="{y + 3}" width="{PLOT_W}" height="{BAR_H - 6}" fill="#eee"/>',
                  f'<rect x="{LABEL_W}" y="{y + 3}" width="{width:.1f}" height="{BAR_H - 6}" '
                  f'fill="{fill or _colour(value / maximum if maximum else 0)}"/>',
                  f'<text x="{LABEL_W + PLOT_W + 6}" y="{y + 15}" font-size="12">{escape(caption)}</text>']
    return "".join(parts) + "</svg>"


def trend(title: str, points: Sequence[tuple[str, float, float]]) -> str:
    """Scenario (solid) and step (dashed) pass rate over runs, oldest left."""
    width, height, pad = 700, 220, 40
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{pad + i * step:.1f},{height - pad - v * (height - 2 * pad):.1f}"

    scen = " ".join(xy(i, p[1]) for i, p in enumerate(points))
    steps = " ".join(xy(i, p[2]) for i, p in enumerate(points))
    every = max(1, -(-len(points) // 6))  # at most ~6 labels, the newest always shown
    shown = [i for i in range(len(points)) if (len(points) - 1 - i) % every == 0]
    labels = "".join(f'<text x="{pad + i * step:.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{escape(points[i][0][-13:])}</text>' for i in shown)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
            f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{width - pad}" y2="{pad}" stroke="#ddd"/>'
            f'<text x="4" y="{pad + 4}" font-size="10">100%</text><text x="4" y="{height - pad}" '
            f'font-size="10">0%</text>'
            f'<polyline fill="none" stroke="#2a7" stroke-width="2" points="{scen}"/>'
            f'<polyline fill="none" stroke="#27a" stroke-width="2" stroke-dasharray="5,3" points="{steps}"/>'
            f"{labels}</svg>")


def _colour(share: float) -> str:
    return "#2a7" if share >= 0.8 else "#db3" if share >= 0.5 else "#c33"


def fault_timeline(start: float, end: float, bands: Sequence[tuple[float, float | None, str]],
                   points: Sequence[tuple[float, int, int]], failed_at: float | None) -> str:
    """Fault bands (red) over requests (grey) and errors (red) per second; the failure as a line."""
    width, height, pad = 520, 110, 24
    span = max(end - start, 1.0)
    top = max((n for _, n, _ in points), default=0) or 1

    def x(t: float) -> float:
        return pad + (min(max(t, start), end) - start) / span * (width - 2 * pad)

    bar_w = max(1.0, (width - 2 * pad) / span - 1)
    plot = height - pad - 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>Faults, requests and errors per second</title>',
             f'<line x1="{pad}" y1="{plot + 10}" x2="{width - pad}" y2="{plot + 10}" stroke="#999"/>']
    for begin, stop, what in bands:
        x0, x1 = x(begin), x(stop if stop is not None else end)
        parts.append(f'<rect x="{x0:.1f}" y="4" width="{max(x1 - x0, 1):.1f}" height="{plot + 6}" fill="#f66" '
                     f'fill-opacity=".18"><title>{escape(what)}</title></rect>'
                     f'<text x="{x0 + 2:.1f}" y="14" font-size="9" fill="#a22">{escape(what[:60])}</text>')
    for t, completed, errors in points:
        h, e = completed / top * plot, errors / top * plot
        parts.append(f'<rect x="{x(t):.1f}" y="{plot + 10 - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="#9ab"/>')
        if errors:
            parts.append(f'<rect x="{x(t):.1f}" y="{plot + 10 - e:.1f}" width="{bar_w:.1f}" height="{e:.1f}" '
                         f'fill="#c33"/>')
    if failed_at is not None:
        parts.append(f'<line x1="{x(failed_at):.1f}" y1="2" x2="{x(failed_at):.1f}" y2="{plot + 10}" '
                     f'stroke="#000" stroke-dasharray="3,2"/><text x="{x(failed_at) + 2:.1f}" y="{plot + 6}" '
                     'font-size="9">failed</text>')
    parts.append(f'<text x="{pad}" y="{height - 4}" font-size="9">0 s</text><text x="{width - pad}" '
                 f'y="{height - 4}" font-size="9" text-anchor="end">{span:.1f} s · max {top} req/s</text>')
    return "".join(parts) + "</svg>"


def series(title: str, values: Sequence[float], unit: str = "ms", flagged: bool = False) -> str:
    """One metric over runs (oldest left, this run last and marked); red when ``flagged``."""
    width, height, pad = 360, 120, 30
    top = max(values, default=1.0) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = [(pad + i * step, height - pad - v / top * (height - 2 * pad)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    colour = "#c33" if flagged else "#27a"
    last = points[-1] if points else (pad, height - pad)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
            f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(title[:58])}</text>'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="2" y="{pad + 4}" font-size="9">{top:.0f} {unit}</text>'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>'
            f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="4" fill="{colour}"/>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="9" text-anchor="end">this run: '
            f"{values[-1] if values else 0:.0f} {unit} ({len(values) - 1} earlier)</text></svg>")
