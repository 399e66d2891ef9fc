"""Rendering of the leaderboard's web pages: the templates, their cell and number helpers, and the static assets.

Pages are rendered on the server and work without JavaScript; one small
script, served from /static like every other asset, adds column sorting.
"""
from __future__ import annotations

import hashlib
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
    # Plain f-strings: every value is a number or a fixed word, and Markup.format costs 10x more on a big board.
    if value is None:
        label, css = ("failed", "missing failed") if status == "failed" else ("—", "missing")
        return Markup(f'<td class="{css}" data-value="">{label}</td>')
    return Markup(f'<td class="score" data-value="{value:.6f}" style="background:{score_colour(value)}">'
                  f'{value:.3f}</td>')


def layer_plot(cell: dict) -> Markup:
    return Markup(layer_score_svg(cell["layer_scores"], cell["layer"], f"{cell['benchmark']} ({cell['region']})"))


TEMPLATES.env.globals.update(score_cell=score_cell, number=number, layer_plot=layer_plot, colour=score_colour)


def header_layout(benchmarks: list[dict]) -> dict:
    """The leaderboard's grouped header: leaf columns in order, and the group cells of the first two rows.

    average, then neural (its aggregate, then per region its aggregate and benchmarks), behaviour (aggregate and
    benchmarks) and engineering. Each leaf lists the groups it belongs to, which the page's script collapses.
    """
    by_node: dict[str, list[dict]] = {}
    for column in benchmarks:
        node = "behavior" if column["kind"] == "behavior" else "engineering" if column["kind"] == "engineering" \
            else column["region"] if column["region"] in ("V1", "V2", "V4", "IT") else "neural"
        by_node.setdefault(node, []).append(column)

    def bench(column: dict, groups: list[str]) -> dict:
        return {"key": column["identifier"], "label": column["identifier"], "aggregate": False, "groups": groups,
                "column": column}

    def agg(name: str, groups: list[str]) -> dict:
        return {"key": name, "label": name, "aggregate": True, "groups": groups, "column": None}

    regions = ("V1", "V2", "V4", "IT")
    neural = [agg("neural", ["neural"])] + [bench(c, ["neural"]) for c in by_node.get("neural", [])]
    region_groups = []
    for region in regions:
        leaves = [agg(region, ["neural", region])] + [bench(c, ["neural", region]) for c in by_node.get(region, [])]
        region_groups.append({"name": region, "leaves": leaves})
    behaviour = [agg("behavior", ["behavior"])] + [bench(c, ["behavior"]) for c in by_node.get("behavior", [])]
    engineering = [bench(c, ["engineering"]) for c in by_node.get("engineering", [])]
    top = [{"name": "neural", "span": len(neural) + sum(len(g["leaves"]) for g in region_groups)},
           {"name": "behavior", "span": len(behaviour)}]
    if engineering:
        top.append({"name": "engineering", "span": len(engineering)})
    leaves = [agg("average", ["average"]), *neural, *(leaf for g in region_groups for leaf in g["leaves"]),
              *behaviour, *engineering]
    return {"top": top, "neural_direct": neural, "regions": region_groups, "behaviour": behaviour,
            "engineering": engineering, "leaves": leaves}


def render_leaderboard(request, session, view, as_of, owner_id: int | None = None) -> tuple[str, tuple]:
    """The page for a view, and its cache key: every model is in it (those the view filters out are hidden), so
    that the page's script can change the view without a reload; rendered once per board state, view and viewer.

    A signed-in owner (``owner_id``, token from ``?token=``) also sees their private models, badged ``private``,
    and the page's links keep the token so that their model pages open."""
    from submission_api.leaderboard.service import (
        CARD_FILTERS, View, apply_view, cached, card_values, full_board, matches)

    # The token a browser came with, kept in the page's links: never the Authorization header's.
    token = request.query_params.get("token", "") if owner_id is not None else ""
    key = ("page", as_of, view, str(request.base_url), hashlib.sha256(token.encode()).hexdigest() if token else "")

    def build() -> str:
        board = full_board(session, as_of, owner_id)
        weighted = apply_view(board, View(benchmarks=view.benchmarks, weights=view.weights))
        all_cells = {(row["submission_id"], row["model"]): row["benchmarks"] for row in board["models"]}
        rows, rank = [], 0
        for row in weighted["models"]:
            shown = matches(row, view)
            rank += shown
            rows.append({**row, "benchmarks": all_cells[(row["submission_id"], row["model"])], "shown": shown,
                         "shown_rank": rank if shown else ""})
        layout = header_layout(board["benchmarks"])

        def row_cells(row: dict) -> Markup:
            """A row's score cells in leaf order, in one Python loop (a Jinja loop is 5x slower on 20k cells)."""
            aggregate, cells = row["aggregate"], row["benchmarks"]
            return Markup("".join(score_cell(aggregate.get(leaf["key"])) if leaf["aggregate"]
                                  else cell_attributes(cells.get(leaf["key"])) for leaf in layout["leaves"]))

        return TEMPLATES.get_template("leaderboard.html").render(
            request=request, board=board, rows=rows, layout=layout, view=view, row_cells=row_cells,
            weights=dict(view.weights), as_of=as_of, cards=card_values(board), card_filters=CARD_FILTERS,
            query=str(request.url.query), url_for=request.url_for, token=token, signed_in=owner_id is not None,
            references=any(row["reference"] for row in board["models"]))

    return cached(session, key, build, owner_id=owner_id), key


def cell_attributes(cell: dict | None) -> Markup:
    """A benchmark cell of the leaderboard: its score, colour, and the numbers behind it on hover."""
    if cell is None:
        return Markup('<td class="missing" data-value="">—</td>')
    if cell["score"] is None:
        label, css = ("failed", "missing failed") if cell["status"] == "failed" else ("—", "missing")
        return Markup(f'<td class="{css}" data-value="" data-present="1">{label}</td>')
    score, error = float(cell["score"]), cell.get("error")
    # Numbers only: nothing here needs escaping.
    title = f"{score:.3f}" + (f" ± {float(error):.3f}" if error is not None else "") + \
        f"; raw {number(cell.get('raw'))}, ceiling {number(cell.get('ceiling'))}"
    bar = "" if error is None else f'<span class="errbar" style="width:{min(200 * float(error), 100):.1f}%"></span>'
    return Markup(f'<td class="score" data-value="{score:.6f}" data-present="1" '
                  f'data-error="{"" if error is None else f"{float(error):.6f}"}" title="{title}" '
                  f'style="background:{score_colour(score)}">{score:.3f}{bar}</td>')


TEMPLATES.env.globals.update(cell_attributes=cell_attributes)


def leaf_attrs(leaf: dict) -> Markup:
    """The attributes of a leaf header: what it sorts, its column key, its groups, and a benchmark's region."""
    column = leaf["column"] or {}
    return Markup('data-sort="number" data-column="{0}" data-col="{0}" data-groups="{1}" data-kind="{2}" '
                  'data-region="{3}" class="{4}"').format(
        leaf["key"], " ".join(leaf["groups"]), column.get("kind", ""), column.get("region") or "",
        "aggregate" if leaf["aggregate"] else "benchmark")


def leaf_label(leaf: dict) -> Markup:
    if leaf["aggregate"]:
        return Markup("{}").format(leaf["label"])
    column = leaf["column"]
    return Markup('<a class="bench-link" href="/benchmarks/{0}" title="{0} v{1} ({2})">{0}</a>').format(
        column["identifier"], column["version"], column["region"] or column["kind"])


TEMPLATES.env.globals.update(leaf_attrs=leaf_attrs, leaf_label=leaf_label)
