"""How `museum bench attribution` shows its figures: the LDS table, the comparison of methods,
reliability, the counterfactual check, credit stability across seeds and latency
(`api.cli.bench_views` shows the others). The harness's targets load only when a renderer
runs."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

__all__ = ["render_attribution_bench"]


def _pct(block: dict[str, Any]) -> str:
    return f"{100 * block['mean']:+.1f} [{100 * block['low']:+.1f}, {100 * block['high']:+.1f}]"


def _seconds(value: float | None) -> str:
    """A per-query time; TracIn's is the latency line's (each call redoes all train grads)."""
    if value is None or math.isnan(value):
        return "see latency"
    return f"{value:.3f}"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _lds_table(data: dict[str, Any], default: str) -> Table:
    targets = data["targets"]
    table = Table(
        title=(
            f"Attribution LDS: {data['name']} — {data['train_items']} training items, "
            f"{data['subsets']} subsets of {data['subset_size']}, targets "
            + ", ".join(f"{v} {k}" for k, v in targets.items())
        ),
        caption=(
            f"LDS % = mean over targets of Spearman(Σ scores over subset, −loss), 95% bootstrap "
            f"interval over targets · loss over {data['eval_timesteps']} timesteps, fixed noise · "
            f"models trained {data['models_trained']}, loaded from cache {data['models_loaded']}"
            + (
                " · † training features shared with an earlier row: its build time plus this "
                "row's kernel fit"
                if any("features_shared_with" in row for row in data["methods"])
                else ""
            )
        ),
    )
    table.add_column("method")
    for name in targets:
        table.add_column(f"LDS % {name}", justify="right")
    table.add_column("index build s", justify="right")
    table.add_column("per query s", justify="right")
    table.add_column("peak RSS MiB", justify="right")
    for row in data["methods"]:
        label = f"{row['name']} (default)" if row["name"] == default else row["name"]
        build = f"{row['index_build_s']:.1f}"
        if "features_shared_with" in row:
            build = f"{row['index_build_s_standalone']:.1f}†"
        table.add_row(
            label,
            *[_pct(row["lds"][name]) for name in targets],
            build,
            _seconds(row["per_query_s"]),
            _mib(row["peak_rss_mib"]),
        )
    return table


def _comparison_table(title: str, comparisons: list[dict[str, Any]], how: str = "") -> Table:
    table = Table(
        title=title,
        caption=(
            f"difference of {how}LDS points (a − b), 95% interval; better = interval excludes 0"
        ),
    )
    for label in ("a", "b", "targets", "a − b", "95% interval", "verdict"):
        table.add_column(label, justify="right" if label in ("a − b", "95% interval") else "left")
    for c in comparisons:
        verdict = "a better" if c["a_better"] else "b better" if c["b_better"] else "no call"
        table.add_row(
            c["a"],
            c["b"],
            c["targets"],
            f"{100 * c['diff']:+.1f}",
            f"[{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]",
            verdict,
        )
    return table


def _reliability_text(data: dict[str, Any]) -> Text:
    rel = data.get("ground_truth_reliability") or {}
    blocks: list[tuple[str, dict[str, Any]]] = [
        (name, rel[name]) for name in data["targets"] if rel.get(name) is not None
    ]
    if not rel.get("subsets") or len(blocks) < len(data["targets"]):
        return Text(f"{data['name']}: ground-truth reliability not measured", style="dim")
    parts = ", ".join(f"{name} {_pct(block)}" for name, block in blocks)
    line = (
        f"Ground truth {data['name']}: test-retest Spearman % over {rel['subsets']} subsets "
        f"retrained with another seed: {parts}"
    )
    seeds = rel.get("ground_truth_seeds", 1)
    if seeds > 1 and all("averaged" in block for _, block in blocks):
        averaged = ", ".join(f"{name} {_pct(block['averaged'])}" for name, block in blocks)
        line += f"; the ground truth averages {seeds} seeds per subset (Spearman–Brown): {averaged}"
    return Text(line + " (LDS is bounded by about its square root)")


def _counterfactual_text(data: dict[str, Any]) -> Text:
    cf = data.get("counterfactual")
    if cf is None:
        return Text(f"{data['name']}: no counterfactual check", style="dim")
    each = ", ".join(
        f"#{t['target']}: {t['top_k_rise']:+.4f} vs {t['random_rise_mean']:+.4f}"
        for t in cf["targets"]
    )
    ok = cf["top_k_beats_random"]
    return Text(
        f"Counterfactual {data['name']} ({cf['method']}, k = {cf['k']}, "
        f"{cf['random_draws']} random draws): loss rise removing top-k "
        f"{cf['top_k_rise_mean']:+.4f} vs random {cf['random_rise_mean']:+.4f} "
        f"{'✓' if ok else '✗'} · per target {each}",
        style="green" if ok else "red",
    )


def _latency_text(figures: dict[str, Any]) -> Text:
    from attribution.bench.harness import TARGETS

    lat = figures.get("latency")
    if lat is None:
        return Text("latency: not measured", style="dim")
    line = (
        f"Latency ({lat['dataset']}, {lat['method']}, {lat['checkpoints']} checkpoints): one "
        f"generation vs {lat['items']:,d} items {lat['query_s']:.3f} s warm "
        f"({lat['query_cold_s']:.3f} s cold) · target ≤ {TARGETS['query_seconds_10k']:.0f} s "
        f"{'✓' if lat['query_s'] <= TARGETS['query_seconds_10k'] else '✗'} · index rows "
        f"{lat['index_rows']}"
    )
    tracin = lat.get("tracin")
    if tracin is not None:
        line += (
            f" · TracInCP: {tracin['seconds_measured']:.2f} s for {tracin['items_measured']} "
            f"items, extrapolated linearly to {lat['items']:,d}: "
            f"{tracin['seconds_at_items_extrapolated']:.1f} s → speed-up {lat['speedup']:,.0f}× "
            f"(target ≥ {TARGETS['speedup_vs_tracincp']:.0f}×) "
            f"{'✓' if lat['speedup'] >= TARGETS['speedup_vs_tracincp'] else '✗'}"
        )
    return Text(line)


def _agreement(block: dict[str, Any], name: str) -> str:
    return f"{block['mean'][name]:.3f} ({block['min'][name]:.2f})"


def _stability_table(data: dict[str, Any], default: str) -> Table:
    block = data["stability"]
    table = Table(
        title=(
            f"Credit stability: {data['name']} — {block['targets']} generations, "
            f"{block['seeds']} projection seeds, top-{block['top']} credit"
        ),
        caption=(
            "agreement = Σ min(share_a, share_b) over items (or artists, stage roles), mean "
            "over generations of the mean over seed pairs (smallest generation in brackets) · "
            "query s = one generation's gradients + its projection and kernel · MiB = float32 "
            "features, here and at 10,000 items · exact: no projection, compared with one "
            "projected scoring"
        ),
    )
    for label in (
        "method",
        "k",
        "R",
        "per item",
        "per artist",
        "per role",
        f"top-{block['top']}",
        "Spearman",
        "query s",
        "index MiB",
        "at 10k",
    ):
        table.add_column(label, justify="left" if label == "method" else "right")
    for row in block["rows"]:
        agree = row["agreement"] or row["agreement_with_projected"]
        kernel = row["query_projection_kernel_s"]
        query = row["query_gradients_s"] + (kernel or 0.0)
        table.add_row(
            f"{row['name']} (default)" if row["name"] == default else row["name"],
            "p" if row["dim"] is None else f"{row['dim']:,d}",
            "—" if row["projections"] == 0 else str(row["projections"]),
            *[_agreement(agree, n) for n in ("item", "artist", "role", "top_k", "spearman")],
            f"{query:.3f}",
            f"{row['index_mib']:,.1f}",
            f"{row['index_mib_at_10k']:,.0f}",
        )
    return table


def _noise_text(data: dict[str, Any]) -> Text:
    noise = data["stability"].get("noise_seed")
    if noise is None:
        return Text(f"{data['name']}: noise seed not measured", style="dim")
    mean = noise["exact"]["mean"]
    return Text(
        f"Noise seed {data['name']} ({noise['method']}, exact kernel, noise seeds "
        f"{noise['noise_seeds'][0]} vs {noise['noise_seeds'][1]}): per item {mean['item']:.3f}, "
        f"per artist {mean['artist']:.3f}, top-k {mean['top_k']:.3f}, Spearman "
        f"{mean['spearman']:.3f} — the timestep noise's own share of the dice roll"
    )


def _seed_lds_table(data: dict[str, Any], default: str) -> Table:
    targets = list(data["targets"])
    table = Table(
        title=f"LDS across projection seeds: {data['name']} — the same models and targets",
        caption=(
            "per target set: LDS % averaged over the seeds' scorings, 95% bootstrap interval "
            "over targets · sd and range of the seeds' own LDS · exact: no projection, no seed"
        ),
    )
    table.add_column("method")
    table.add_column("seeds", justify="right")
    for name in targets:
        table.add_column(f"LDS % {name}", justify="right")
        table.add_column("sd · range", justify="right")
    for row in data["stability"]["rows"]:
        over = row.get("lds_over_seeds")
        single = row.get("lds")
        if over is None and single is None:
            continue
        cells: list[str] = []
        for name in targets:
            if over is not None:
                block = over[name]
                cells += [
                    _pct(block),
                    f"{100 * block['sd']:.1f} · {100 * block['min']:+.1f}…{100 * block['max']:+.1f}",
                ]
            else:
                cells += [_pct(single[name]), "—"]
        table.add_row(
            f"{row['name']} (default)" if row["name"] == default else row["name"],
            "—" if over is None else str(over["seeds"]),
            *cells,
        )
    return table


def render_attribution_bench(figures: dict[str, Any]) -> Group:
    """Per data set: the LDS table, the paired comparisons and the counterfactual line; then
    the latency line and a line about the machine."""
    parts: list[Any] = []
    for data in figures["datasets"]:
        parts.append(_lds_table(data, figures["default_method"]))
        if data["comparisons"]:
            title = f"Paired bootstrap over targets: {data['name']}"
            parts.append(_comparison_table(title, data["comparisons"]))
        parts.append(_reliability_text(data))
        parts.append(_counterfactual_text(data))
        if data.get("stability"):
            parts.append(_stability_table(data, figures["default_method"]))
            parts.append(_noise_text(data))
            if any("lds_over_seeds" in row for row in data["stability"]["rows"]):
                parts.append(_seed_lds_table(data, figures["default_method"]))
            if data["stability"].get("lds_comparisons"):
                parts.append(
                    _comparison_table(
                        f"Paired bootstrap over targets, LDS averaged over projection seeds: "
                        f"{data['name']}",
                        data["stability"]["lds_comparisons"],
                        "seed-averaged ",
                    )
                )
    parts.append(_latency_text(figures))
    machine = figures.get("machine", {})
    load_start, load_end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    parts.append(
        Text(
            f"{'quick run · ' if figures.get('quick') else ''}seed {figures['seed']} · "
            f"{machine.get('cpu_count')} CPUs ({machine.get('cpu')}) · torch "
            f"{machine.get('torch')} · captum {machine.get('captum')} · load "
            f"{load_start[0] if load_start else 'n/a'} at start, "
            f"{load_end[0] if load_end else 'n/a'} at end · "
            f"{figures.get('seconds_total', 0.0):.0f} s in all",
            style="dim",
        )
    )
    return Group(*parts)
