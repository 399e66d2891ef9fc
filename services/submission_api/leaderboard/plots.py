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
