"""The current leaderboard view as CSV: one line per model, raw/ceiling/ceiled/error for every benchmark."""
from __future__ import annotations

import csv
import io

CELL_FIELDS = ("score", "raw", "ceiling", "ceiled", "error")


def board_csv(board: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["rank", "model", "submission_id", *board["aggregate_columns"]]
    for column in board["benchmarks"]:
        header += [f"{column['identifier']}:{field}" for field in CELL_FIELDS]
    writer.writerow(header)
    for row in board["models"]:
        line = [row["rank"], row["model"], row["submission_id"],
                *(_number(row["aggregate"].get(column)) for column in board["aggregate_columns"])]
        for column in board["benchmarks"]:
            cell = row["benchmarks"].get(column["identifier"]) or {}
            line += [_number(cell.get(field)) for field in CELL_FIELDS]
        writer.writerow(line)
    return out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))
