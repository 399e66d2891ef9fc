"""Rendering of the leaderboard's web pages: the templates, their cell and number helpers, and the static assets.

Pages are rendered on the server and work without JavaScript; one small
script, served from /static like every other asset, adds column sorting.
"""
from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from submission_api.leaderboard.plots import layer_score_svg

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"


def score_colour(value: float) -> str:
    """Red (0) through yellow to green (1), light enough for black text."""
    return f"hsl({120 * min(max(value, 0.0), 1.0):.0f}, 70%, 78%)"


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def score_cell(value: float | None, status: str | None = None) -> Markup:
    if value is None:
        label, css = ("failed", "missing failed") if status == "failed" else ("—", "missing")
        return Markup('<td class="{}" data-value="">{}</td>').format(css, label)
    return Markup('<td class="score" data-value="{:.6f}" style="background:{}">{:.3f}</td>').format(
        value, score_colour(value), value)


def layer_plot(cell: dict) -> Markup:
    return Markup(layer_score_svg(cell["layer_scores"], cell["layer"], f"{cell['benchmark']} ({cell['region']})"))


TEMPLATES.env.globals.update(score_cell=score_cell, number=number, layer_plot=layer_plot)
