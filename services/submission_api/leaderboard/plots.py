"""Server-side SVG plots for the web pages: no plotting library, no script, just markup."""
from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 560, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 28, 84


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    return [low + index * step for index in range(count)]


def layer_score_svg(layer_scores: dict[str, float], committed: str | None, title: str) -> str:
    """A line plot of the layer-selection score of each candidate layer, in the model's layer order.

    The committed layer is drawn as a filled red marker.

    Examples
    --------
    >>> svg = layer_score_svg({"conv1": 0.2, "relu2": 0.5}, "relu2", "IT")
    >>> svg.startswith("<svg") and svg.count("<circle") == 2 and 'data-committed="true"' in svg
    True
    """
    layers = list(layer_scores)
    values = [float(layer_scores[layer]) for layer in layers]
    low, high = min([0.0, *values]), max([*values, 1e-9])
    high = high + 0.05 * (high - low)
    plot_width, plot_height = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x_of(index: int) -> float:
        return MARGIN_LEFT + (plot_width * (index + 0.5) / max(len(layers), 1))

    def y_of(value: float) -> float:
        return MARGIN_TOP + plot_height * (1 - (value - low) / (high - low))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="layer-plot" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="score per layer: {escape(title)}">',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
             f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_width}" height="{plot_height}" '
             'fill="none" stroke="#999"/>']
    for tick in _ticks(low, high):
        y = y_of(tick)
        parts.append(f'<line x1="{MARGIN_LEFT - 4}" x2="{MARGIN_LEFT + plot_width}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e4e4e4"/>'
                     f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{tick:.2f}</text>')
    points = " ".join(f"{x_of(index):.1f},{y_of(value):.1f}" for index, value in enumerate(values))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#2b6cb0" stroke-width="2"/>')
    for index, (layer, value) in enumerate(zip(layers, values)):
        chosen = layer == committed
        x, y = x_of(index), y_of(value)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{6 if chosen else 4}" '
                     f'fill="{"#c53030" if chosen else "#2b6cb0"}" data-layer="{escape(layer)}" '
                     f'data-committed="{"true" if chosen else "false"}"><title>{escape(layer)}: {value:.4f}'
                     f'{" (committed)" if chosen else ""}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{MARGIN_TOP + plot_height + 12}" font-size="10" text-anchor="end" '
                     f'transform="rotate(-40 {x:.1f} {MARGIN_TOP + plot_height + 12})">{escape(layer)}</text>')
    parts.append(f'<text x="14" y="{MARGIN_TOP + plot_height / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 14 {MARGIN_TOP + plot_height / 2})">layer-selection score</text></svg>')
    return "".join(parts)


PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")


def histogram_svg(bins: list[dict], width: int = 420, height: int = 180) -> str:
    """Bars of the public models' scores on a benchmark."""
    left, bottom, top = 36, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max([b["count"] for b in bins] + [1])
    bar_w = plot_w / max(len(bins), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="distribution of scores">',
             f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>']
    for index, b in enumerate(bins):
        h = plot_h * b["count"] / peak
        x = left + index * bar_w
        parts.append(f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                     f'fill="#2b6cb0"><title>{b["low"]:.2f}–{b["high"]:.2f}: {b["count"]} model(s)</title></rect>')
    for value, anchor in ((bins[0]["low"], "start"), (bins[-1]["high"], "end")) if bins else ():
        x = left if anchor == "start" else left + plot_w
        parts.append(f'<text x="{x}" y="{height - 8}" font-size="10" text-anchor="{anchor}">{value:.2f}</text>')
    parts.append(f'<text x="4" y="{top + 10}" font-size="10">{peak}</text></svg>')
    return "".join(parts)


def overlay_svg(curves: dict[str, dict[str, float]], title: str) -> str:
    """Each model's layer-selection scores on one benchmark, over the relative depth of its layers."""
    plot_w, plot_h = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - 40
    values = [float(v) for curve in curves.values() for v in curve.values()]
    low, high = min([0.0, *values]), max([*values, 1e-9])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="overlay-plot" viewBox="0 0 {WIDTH} {HEIGHT - 44}" '
             f'width="{WIDTH}" height="{HEIGHT - 44}" role="img" aria-label="score per layer: {escape(title)}">',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
             f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    for tick in _ticks(low, high):
        y = MARGIN_TOP + plot_h * (1 - (tick - low) / (high - low))
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{tick:.2f}</text>')
    for index, (model, curve) in enumerate(curves.items()):
        colour = PALETTE[index % len(PALETTE)]
        layers = list(curve)
        points = []
        for position, layer in enumerate(layers):
            x = MARGIN_LEFT + plot_w * ((position + 0.5) / max(len(layers), 1))
            y = MARGIN_TOP + plot_h * (1 - (float(curve[layer]) - low) / (high - low))
            points.append((x, y, layer))
        if points:
            parts.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)}" fill="none" '
                         f'stroke="{colour}" stroke-width="2" data-model="{escape(model)}"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(model)} '
                      f'{escape(layer)}: {float(curve[layer]):.4f}</title></circle>' for x, y, layer in points]
        parts.append(f'<text x="{MARGIN_LEFT + 8}" y="{MARGIN_TOP + 14 + 14 * index}" font-size="11" '
                     f'fill="{colour}">{escape(model)}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{MARGIN_TOP + plot_h + 16}" font-size="10" text-anchor="middle">'
                 'relative layer depth</text></svg>')
    return "".join(parts)
