"""Write the summary table of bench/results/*.json into bench/README.md (run by `make bench` after the benches).

The table sits between the two marker lines in the README; the rest of the README is left as it is.
"""
from __future__ import annotations

import json
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BEGIN, END = "<!-- summary:begin -->", "<!-- summary:end -->"


def _api_latency(r: dict) -> list[tuple[str, str, str]]:
    setup = r["setup"]
    rows = [(f"poll p50 / p99, {name} ({setup['submissions']} submissions, {setup['pollers']} pollers)",
             f"{r[name]['p50_ms']:.1f} / {r[name]['p99_ms']:.1f} ms",
             f"p99 {r[name]['p99_over_bare']:.1f}x bare" + (" (target: <= 3x and < 50 ms)" if name != "bare" else ""))
            for name in ("sqlite", "postgres") if name in r]
    rows.append(("poll p50 / p99, bare FastAPI route, same JSON", f"{r['bare']['p50_ms']:.1f} / {r['bare']['p99_ms']:.1f} ms", ""))
    return rows


def _upload(r: dict) -> list[tuple[str, str, str]]:
    return [(f"upload of a {r['zip_bytes'] / 1e6:.0f} MB zip", f"{r['megabytes_per_second']:.0f} MB/s",
             f"API peak RSS growth {r['peak_growth_megabytes']:.1f} MB (target < 64 MB)")]


def _queue(r: dict) -> list[tuple[str, str, str]]:
    rows = []
    for kind, label in (("protocol", "protocol scorers, sleeping model"), ("real", "real scorers, sleepy model")):
        for scorers, m in r.get(kind, {}).items():
            rows.append((f"queue throughput, {scorers} {label}", f"{m['jobs_per_second']:.2f} jobs/s",
                         f"{m['speedup_over_1']:.2f}x one scorer" + (" (target >= 1.8x)" if scorers == "2" else "")))
    return rows


def _activations(r: dict) -> list[tuple[str, str, str]]:
    return [(f"score {r['model'].split(' ')[0]} on {len(r['benchmarks'])} benchmarks sharing {r['n_images']} images",
             f"{r['ours_seconds']:.2f} s (activations {r['ours_activations_seconds']:.2f} s, "
             f"scoring {r['ours_scoring_seconds']:.2f} s)",
             f"{r['ratio']:.2f}x a bare forward pass of {r['bare_forward_seconds']:.2f} s "
             f"(target <= {r['target_ratio']}x); CPU-time ratio {r['ratio_of_cpu_seconds']:.2f}x")]


def _pls_batched(r: dict) -> list[tuple[str, str, str]]:
    return [(f"PLS, {case['splits']} splits of {name.replace('_', ' ')}, {case['neuroids']} neuroids",
             f"{case['seconds']['batched'] * 1000:.0f} ms",
             f"{case['sklearn_over_batched']:.0f}x faster than sklearn; max difference "
             f"{case['max_abs_difference_to_sklearn']['batched']:.0e}")
            for name, case in r["cases"].items()]


def _sandbox_startup(r: dict) -> list[tuple[str, str, str]]:
    medians = r["median_seconds"]
    return [("sandbox start-up, empty model from import to exit", f"{medians['bubblewrap']:.2f} s (bubblewrap)",
             f"{r['ratio_bubblewrap_over_previous']:.2f}x the previous unshare sandbox's {medians['previous']:.2f} s "
             f"(medians of {r['repeats']})")]


def _leaderboard(r: dict) -> list[tuple[str, str, str]]:
    setup = r["setup"]
    return [(f"leaderboard {name.replace('_', ' ')}, {setup['models']} models x {setup['benchmarks']} benchmarks",
             f"{r[name]['p50_ms']:.1f} / {r[name]['p99_ms']:.1f} ms",
             f"p50 / p99 warm (target p99 < 200 ms); first, cold build {r[name]['first_ms']:.0f} ms")
            for name in ("page", "json", "page_weighted", "json_weighted", "csv") if name in r]


def _suite(r: dict) -> list[tuple[str, str, str]]:
    # Each run's pair was measured side by side; the row shows the run with the median ratio, whole, so its
    # two times and its ratio agree (medians taken apart would pair one run's T_suite with another's T_forward).
    runs = sorted(r["runs"], key=lambda run: run["ratio"])
    median_run = runs[len(runs) // 2]
    steps = median_run["steps"]
    ratios = ", ".join(f"{run['ratio']:.2f}x" for run in r["runs"])
    return [(f"default suite ({len(r['benchmarks'])} benchmarks, {r['distinct_images']} images), AlexNet, upload to "
             "completed", f"{median_run['t_suite_s']:.0f} s",
             f"{median_run['ratio']:.2f}x a bare forward pass of {median_run['t_forward_s']:.0f} s, the run with the "
             f"median ratio (runs: {ratios}; target <= 1.5x); {steps['children']} child, "
             f"{steps['jobs_from_session_cache']} jobs from its session")]


def _wide_layer(r: dict) -> list[tuple[str, str, str]]:
    return [(f"one layer of {run['features']:,} features ({run['layer_gib']} GiB) on {run['stimuli']} stimuli, "
             f"code of {run['code']}", f"scorer {run['scorer_peak_mib']} MiB, model {run['child_peak_mib']} MiB",
             f"peak RSS (target < {r['target_peak_mib']} MiB each); upload to {run['status']} in "
             f"{run['wall_seconds']:.0f} s") for run in r["runs"]]


FORMATTERS = {"leaderboard": _leaderboard, "api_latency": _api_latency, "sandbox_startup": _sandbox_startup,
              "suite": _suite, "upload": _upload, "queue_throughput": _queue,
              "activations": _activations, "pls_batched": _pls_batched,
              "wide_layer": _wide_layer}


def table() -> str:
    lines = ["| measurement | result | note |", "| --- | --- | --- |"]
    for path in sorted((BENCH / "results").glob("*.json")):
        result = json.loads(path.read_text())
        formatter = FORMATTERS.get(path.stem)
        rows = formatter(result) if formatter else [(path.stem, f"see results/{path.name}", "")]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    readme = BENCH / "README.md"
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}")
    print(table())


if __name__ == "__main__":
    main()
