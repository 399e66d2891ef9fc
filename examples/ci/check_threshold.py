"""Fail a CI build when a CortexScore result is below the threshold you set.

Reads the JSON that ``cortexscore submit --wait --json`` (or ``cortexscore
scores ID --json``) prints, and exits 1 unless the submission completed and
every model's score reaches the threshold. Only the standard library is used.

    python check_threshold.py scores.json --min 0.30                  # every model's average
    python check_threshold.py scores.json --min 0.50 --node IT        # an aggregate node: neural, V1, ..., behavior
    python check_threshold.py scores.json --min 0.40 --benchmark MajajHong2015.IT-pls   # one benchmark's ceiled score
"""
from __future__ import annotations

import argparse
import json
import sys


def shortfalls(scores: dict, minimum: float, node: str, benchmark: str | None) -> list[str]:
    """Every reason the build should fail; empty when it passes."""
    if scores["status"] != "completed":
        return [f"submission {scores['submission_id']} is {scores['status']}, not completed"]
    problems = []
    if benchmark is not None:
        entries = [entry for entry in scores["scores"] if entry["benchmark"] == benchmark]
        if not entries:
            return [f"the submission was not scored on {benchmark}"]
        values = {entry["model"]: entry["ceiled"] for entry in entries}
        label = benchmark
    else:
        values = {model: nodes.get(node) for model, nodes in scores["aggregate"].items()}
        if not values:
            return ["no model has a leaderboard score (synthetic benchmarks never count); pick --benchmark"]
        label = node
    for model, value in values.items():
        if value is None:
            problems.append(f"{model} has no {label} score")
        elif value < minimum:
            problems.append(f"{model}: {label} {value:.4f} is below the threshold {minimum:.4f}")
        else:
            print(f"ok: {model}: {label} {value:.4f} >= {minimum:.4f}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", help="the JSON printed by `cortexscore submit --wait --json`")
    parser.add_argument("--min", type=float, required=True, help="the lowest acceptable score")
    parser.add_argument("--node", default="average", help="aggregate node to check (default: average)")
    parser.add_argument("--benchmark", help="check this benchmark's ceiled score instead of an aggregate")
    args = parser.parse_args()
    with open(args.scores) as handle:
        problems = shortfalls(json.load(handle), args.min, args.node, args.benchmark)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
