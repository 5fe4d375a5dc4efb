"""Inline SVG charts (no scripts, no network): horizontal bars and a trend line.

SVG text does not wrap or clip itself, so every label is measured here (an estimate a little wider
than the browsers' sans-serif fonts) and made to fit its box: a chart widens for its captions, titles
wrap, and a long name keeps its distinguishing end (``…tures/chaos.partition-queen-hive.feature``)
with the full name in a ``<title>`` tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_H = 22
LABEL_W = 260
PLOT_W = 420
ELLIPSIS = "…"
_NARROW = frozenset("iIjlft.,:;|!'`()[]{} ")
_WIDE = frozenset("mwMW@%—")


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An upper estimate of ``text``'s width in px at font ``size`` (DejaVu Sans and Arial fit inside)."""
    ems = sum(0.36 if ch in _NARROW else 1.0 if ch in _WIDE else 0.78 if ch.isupper() else 0.66 for ch in text)
    return ems * size * (1.1 if bold else 1.0)


def fit_start(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` cut at the start (``…`` in front) to fit ``width``: a name's end tells names apart."""
    if text_width(text, size, bold) <= width:
        return text
    keep = len(text)
    while keep > 0 and text_width(ELLIPSIS + text[-keep:], size, bold) > width:
        keep -= 1
    return ELLIPSIS + text[-keep:] if keep else ELLIPSIS


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``text`` in lines (at spaces) that each fit ``width``; a word longer than a line keeps its end."""
    lines: list[str] = []
    for word in text.split(" "):
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(joined, size, bold) <= width:
            lines[-1] = joined
        else:
            lines.append(fit_start(word, width, size, bold))
    return lines or [""]


def _title_lines(text: str, x: float, y: float, width: float, size: float) -> tuple[str, int]:
    """A bold title wrapped to ``width``: the <text> element and its line count."""
    lines = wrap(text, width, size, bold=True)
    spans = "".join(f'<tspan x="{x}" dy="{0 if n == 0 else size + 3}">{escape(line)}</tspan>'
                    for n, line in enumerate(lines))
    return f'<text x="{x}" y="{y}" font-size="{size}" font-weight="bold">{spans}</text>', len(lines)


def _label(x: float, y: float, text: str, width: float, size: float, anchor: str = "start") -> str:
    """A label fitted to ``width`` (its start cut); the full text as a tooltip when cut."""
    shown = fit_start(text, width, size)
    tip = f"<title>{escape(text)}</title>" if shown != text else ""
    return f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}">{escape(shown)}{tip}</text>'


def bars(title: str, rows: Sequence[tuple[str, float, str]], maximum: float = 1.0, fill: str = "") -> str:
    """Horizontal bars: (label, value, caption) scaled to ``maximum``; colour by rate unless ``fill``."""
    caption_w = max([90.0, *(text_width(c, 12) + 12 for _, _, c in rows)])
    width = round(LABEL_W + PLOT_W + caption_w)
    heading, lines = _title_lines(title, 0, 16, width, 14)
    top = 10 + 17 * lines
    height = top + 4 + BAR_H * max(len(rows), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">', f"<title>{escape(title)}</title>", heading]
    for n, (label, value, caption) in enumerate(rows):
        y = top + n * BAR_H
        bar = 0.0 if maximum <= 0 else max(0.0, min(1.0, value / maximum)) * PLOT_W
        parts += [_label(LABEL_W - 6, y + 15, label, LABEL_W - 10, 12, anchor="end"),
                  f'<rect x="{LABEL_W}" y="{y + 3}" width="{PLOT_W}" height="{BAR_H - 6}" fill="#eee"/>',
                  f'<rect x="{LABEL_W}" y="{y + 3}" width="{bar:.1f}" height="{BAR_H - 6}" '
                  f'fill="{fill or _colour(value / maximum if maximum else 0)}"/>',
                  f'<text x="{LABEL_W + PLOT_W + 6}" y="{y + 15}" font-size="12">{escape(caption)}</text>']
    return "".join(parts) + "</svg>"


def trend(title: str, points: Sequence[tuple[str, float, float]]) -> str:
    """Scenario (solid) and step (dashed) pass rate over runs, oldest left."""
    width, pad = 700, 40
    heading, lines = _title_lines(title, 0, 16, width, 14)
    height = 220 + 17 * (lines - 1)
    step = (width - 2 * pad) / max(len(points) - 1, 1)
    top = pad + 17 * (lines - 1)

    def xy(i: int, v: float) -> str:
        return f"{pad + i * step:.1f},{height - pad - v * (height - pad - top):.1f}"

    scen = " ".join(xy(i, p[1]) for i, p in enumerate(points))
    steps = " ".join(xy(i, p[2]) for i, p in enumerate(points))
    every = max(1, -(-len(points) // 6))  # at most ~6 labels, the newest always shown
    shown = [i for i in range(len(points)) if (len(points) - 1 - i) % every == 0]
    labels = "".join(_label(_inside(pad + i * step, text_width(fit_start(points[i][0], 90, 10), 10), width),
                            height - 12, points[i][0], 90, 10, anchor="middle") for i in shown)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>{heading}'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<line x1="{pad}" y1="{top}" x2="{width - pad}" y2="{top}" stroke="#ddd"/>'
            f'<text x="4" y="{top + 4}" font-size="10">100%</text><text x="4" y="{height - pad}" '
            f'font-size="10">0%</text>'
            f'<polyline fill="none" stroke="#2a7" stroke-width="2" points="{scen}"/>'
            f'<polyline fill="none" stroke="#27a" stroke-width="2" stroke-dasharray="5,3" points="{steps}"/>'
            f"{labels}</svg>")


def _fit_end(text: str, width: float, size: float) -> str:
    """``text`` cut at the end (``…`` after it) to fit ``width``: for descriptions, whose start says most."""
    if text_width(text, size) <= width:
        return text
    keep = len(text)
    while keep > 0 and text_width(text[:keep] + ELLIPSIS, size) > width:
        keep -= 1
    return text[:keep] + ELLIPSIS


def _inside(center: float, label_w: float, width: float) -> float:
    """The x of a middle-anchored label of ``label_w`` moved inside 0..width."""
    return max(label_w / 2 + 1, min(width - label_w / 2 - 1, center))


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
        label = _fit_end(what, width - 4, 9)
        at, anchor = (x0 + 2, "start") if x0 + 2 + text_width(label, 9) <= width - 2 else (width - 2, "end")
        parts.append(f'<rect x="{x0:.1f}" y="4" width="{max(x1 - x0, 1):.1f}" height="{plot + 6}" fill="#f66" '
                     f'fill-opacity=".18"><title>{escape(what)}</title></rect>'
                     f'<text x="{at:.1f}" y="14" font-size="9" fill="#a22" text-anchor="{anchor}">'
                     f'{escape(label)}<title>{escape(what)}</title></text>')
    for t, completed, errors in points:
        h, e = completed / top * plot, errors / top * plot
        parts.append(f'<rect x="{x(t):.1f}" y="{plot + 10 - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="#9ab"/>')
        if errors:
            parts.append(f'<rect x="{x(t):.1f}" y="{plot + 10 - e:.1f}" width="{bar_w:.1f}" height="{e:.1f}" '
                         f'fill="#c33"/>')
    if failed_at is not None:
        at = x(failed_at)
        text_x, anchor = (at + 2, "start") if at + 2 + text_width("failed", 9) <= width - 2 else (at - 2, "end")
        parts.append(f'<line x1="{at:.1f}" y1="2" x2="{at:.1f}" y2="{plot + 10}" '
                     f'stroke="#000" stroke-dasharray="3,2"/><text x="{text_x:.1f}" y="{plot + 6}" '
                     f'font-size="9" text-anchor="{anchor}">failed</text>')
    parts.append(f'<text x="{pad}" y="{height - 4}" font-size="9">0 s</text><text x="{width - pad}" '
                 f'y="{height - 4}" font-size="9" text-anchor="end">{span:.1f} s · max {top} req/s</text>')
    return "".join(parts) + "</svg>"


def series(title: str, values: Sequence[float], unit: str = "ms", flagged: bool = False) -> str:
    """One metric over runs (oldest left, this run last and marked); red when ``flagged``."""
    width, pad = 360, 30
    heading, lines = _title_lines(title, 0, 14, width - 2, 12)
    extra = 15 * (lines - 1)
    height = 120 + extra
    top = max(values, default=1.0) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = [(pad + i * step, height - pad - v / top * (height - 2 * pad - extra)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    colour = "#c33" if flagged else "#27a"
    last = points[-1] if points else (pad, height - pad)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>{heading}'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="2" y="{pad + extra + 4}" font-size="9">{top:.0f} {unit}</text>'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>'
            f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="4" fill="{colour}"/>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="9" text-anchor="end">this run: '
            f"{values[-1] if values else 0:.0f} {unit} ({len(values) - 1} earlier)</text></svg>")
