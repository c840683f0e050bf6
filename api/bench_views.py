"""How `museum bench …` shows its figures: rich tables and lines built from the JSON-ready
figures each harness returns. The harnesses print nothing; each renderer loads its harness's
targets only when it runs, so showing the ledger bench never imports torch."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

__all__ = [
    "render_attribution_bench",
    "render_generation_bench",
    "render_ledger_bench",
    "render_royalties_bench",
]


def _verdict(value: str, ok: bool) -> Text:
    return Text(f"{value} {'✓' if ok else '✗'}", style="green" if ok else "red")


# --- ledger ---------------------------------------------------------------------------------


def render_ledger_bench(figures: dict[str, Any]) -> Table:
    """One table: a column per backend, a row per figure, targets on the right."""
    backends = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    machine = figures.get("machine", {})
    postgres_version = str(machine.get("postgres_server") or "n/a").split(" ")[0]
    skipped = [
        f"\n{label} skipped: {figures[backend].get('reason', 'not measured')}"
        for backend, label in backends.items()
        if figures.get(backend, {}).get("skipped", True)
    ]
    table = Table(
        title=f"Ledger bench: {figures.get('events')} events appended per backend",
        caption=(
            f"{machine.get('cpu_count')} CPUs · Python {machine.get('python')} · "
            f"{machine.get('platform')} · SQLite {machine.get('sqlite')} · "
            f"PostgreSQL {postgres_version} · "
            f"{figures.get('seconds_total', 0.0):.1f} s in all" + "".join(skipped)
        ),
    )
    table.add_column("figure")
    for label in backends.values():
        table.add_column(label, justify="right")
    table.add_column("target", justify="right")
    from ledger.bench import TARGETS

    targets = figures.get("targets", TARGETS)

    def cell(backend: str, key: str, fmt: str) -> str | Text:
        data = figures.get(backend, {})
        if data.get("skipped", True):
            return Text("skipped", style="dim")
        value = data[key]
        text = format(value, fmt)
        if key in data.get("meets_target", {}):
            return _verdict(text, bool(data["meets_target"][key]))
        return text

    rows: list[tuple[str, str, str, str]] = [
        ("appended events (timed)", "events", ",d", ""),
        ("ledger appends, events/s", "append_events_per_s", ",.0f", ""),
        ("  donations created, events/s", "donation_append_events_per_s", ",.0f", ""),
        ("  consent changes, events/s", "consent_change_events_per_s", ",.0f", ""),
        (
            "  ledger.save() of a donation alone, events/s",
            "donation_save_only_events_per_s",
            ",.0f",
            "",
        ),
        ("raw inserts, rows/s", "raw_inserts_per_s", ",.0f", ""),
        ("ledger ÷ raw", "append_to_raw_ratio", ".2f", f"≥ {targets['append_to_raw_ratio']:g}"),
        ("ledger.save() alone ÷ raw (info)", "save_only_to_raw_ratio", ".2f", ""),
        ("ledger cost over raw, µs/event (info)", "ledger_overhead_us_per_event", ",.0f", ""),
        (
            "verify, events/s",
            "verify_events_per_s",
            ",.0f",
            f"≥ {targets['verify_events_per_s']:,.0f}",
        ),
        ("verified events", "verify_events", ",d", ""),
        ("full donate(), donations/s", "donations_per_s", ",.1f", ""),
        ("mean stored event, bytes", "state_bytes_mean", ",.0f", ""),
    ]
    for label, key, fmt, target in rows:
        table.add_row(label, *(cell(b, key, fmt) for b in backends), target)
    return table


# --- royalties ------------------------------------------------------------------------------


def render_royalties_bench(figures: dict[str, Any]) -> Table:
    """One table: a column per backend, a row per figure."""
    backends = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    skipped = [
        f"\n{label} skipped: {figures[key].get('reason', 'not measured')}"
        for key, label in backends.items()
        if figures.get(key, {}).get("skipped", True)
    ]
    machine = figures.get("machine", {})
    table = Table(
        title=(
            f"Royalties bench: {figures.get('reports')} revenue reports; statement of an artist "
            f"with {figures.get('statement_lines'):,} credit lines"
        ),
        caption=(
            f"{machine.get('cpu_count')} CPUs · Python {machine.get('python')} · "
            f"{figures.get('seconds_total', 0.0):.1f} s in all" + "".join(skipped)
        ),
    )
    table.add_column("figure")
    for label in backends.values():
        table.add_column(label, justify="right")
    rows = [
        ("revenue reports split and posted, reports/s", "reports_per_s", ",.1f"),
        ("  postings per report", "postings_per_report", ",d"),
        ("  postings written, rows/s", "postings_per_s", ",.0f"),
        ("seeded reports for the statement, events/s (info)", "seed_events_per_s", ",.0f"),
        ("projection catch-up, events/s", "projection_events_per_s", ",.0f"),
        ("statement credit lines", "statement_credit_lines", ",d"),
        ("statement (JSON document), s", "statement_seconds", ",.3f"),
        ("statement HTML rendering, s", "html_seconds", ",.3f"),
        ("statement HTML size, bytes", "html_bytes", ",d"),
        ("every transaction balances", "books_balance", ""),
    ]

    def cell(backend: str, key: str, fmt: str) -> str | Text:
        data = figures.get(backend, {})
        if data.get("skipped", True):
            return Text("skipped", style="dim")
        value = data[key]
        if isinstance(value, bool):
            return Text("yes" if value else "NO", style="green" if value else "red")
        return format(value, fmt)

    for label, key, fmt in rows:
        table.add_row(label, *(cell(b, key, fmt) for b in backends))
    return table


# --- generation -----------------------------------------------------------------------------


def _speed_table(figures: dict[str, Any]) -> Table:
    sampling = {(row["preset"], row["device"]): row for row in figures.get("sampling", [])}
    first: dict[str, Any] = next(iter(sampling.values()), {})
    table = Table(
        title="Generation bench: training and sampling speed",
        caption=(
            "training: timed optimiser steps after warm-up, train()'s own clock · sampling: "
            f"{first.get('batch', '?')} images × {first.get('inference_steps', '?')} DDIM steps "
            "per batch, PNG encoding included, freshly built UNet"
        ),
    )
    for label in ("preset", "device", "parameters", "image", "batch", "timed steps"):
        table.add_column(label, justify="left" if label in ("preset", "device") else "right")
    for label in ("train steps/s", "examples/s", "images/s", "s per batch"):
        table.add_column(label, justify="right")
    for row in figures.get("training", []):
        sample = sampling.get((row["preset"], row["device"]), {})
        device = (
            row["device"] if row["device"] == "cpu" else f"{row['device']} ({row['device_name']})"
        )
        table.add_row(
            row["preset"],
            device,
            f"{row['parameters']:,d}",
            f"{row['resolution']}²×{row['channels']}",
            str(row["batch_size"]),
            str(row["timed_steps"]),
            f"{row['steps_per_s']:,.1f}",
            f"{row['examples_per_s']:,.0f}",
            f"{sample['images_per_s']:,.1f}" if sample else "n/a",
            f"{sample['seconds_per_batch']:.2f}" if sample else "n/a",
        )
    return table


def _sharding_table(figures: dict[str, Any]) -> Table:
    from generation.bench import TARGETS

    data = figures.get("sharding", {})
    target = figures.get("targets", TARGETS)["shard_loss_ratio"]
    table = Table(
        title=(
            f"Cost of sharding: {data.get('preset')} preset, {data.get('data')}; "
            f"{data.get('training_items')} items trained, {data.get('held_back_items')} held back"
        ),
        caption=(
            f"budget: {data.get('budget')}; {data.get('total_steps')} steps at batch "
            f"{data.get('batch_size')} in all · held-back loss: epsilon MSE of the shard "
            f"ensemble over {len(data.get('eval_timesteps', []))} fixed timesteps × fixed noise "
            f"({data.get('eval_examples')} examples); untrained model "
            f"{data.get('untrained_loss', float('nan')):.4f}"
        ),
    )
    table.add_column("shards S", justify="right")
    table.add_column("steps per shard", justify="right")
    table.add_column("items per shard", justify="right")
    table.add_column("train wall s", justify="right")
    table.add_column("held-back loss (ensemble)", justify="right")
    table.add_column("mean single-shard loss", justify="right")
    table.add_column("ratio vs S = 1", justify="right")
    table.add_column("target", justify="right")
    for run in data.get("runs", []):
        sizes = run["items_per_shard"]
        spread = str(sizes[0]) if len(sizes) == 1 else f"{min(sizes)}–{max(sizes)}"
        ratio = f"{run['ratio_vs_single']:.3f}"
        baseline = run["shards"] == 1
        table.add_row(
            str(run["shards"]),
            str(run["steps_per_shard"]),
            spread,
            f"{run['train_seconds']:.1f}",
            f"{run['held_back_loss']:.4f}",
            f"{run['mean_single_shard_loss']:.4f}",
            ratio if baseline else _verdict(ratio, bool(run["meets_target"])),
            "baseline" if baseline else f"≤ {target:.2f}",
        )
    return table


def _loads(machine: dict[str, Any]) -> str:
    start, end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    if not start or not end:
        return "n/a"
    return f"{start[0]:.1f} at start, {end[0]:.1f} at end"


def render_generation_bench(figures: dict[str, Any]) -> Group:
    """Two tables (speed per preset and device; cost of sharding) and a line about the machine."""
    machine = figures.get("machine", {})
    cuda = f" · CUDA: {machine['cuda_device']}" if machine.get("cuda") else " · no CUDA"
    footer = Text(
        f"{'quick run · ' if figures.get('quick') else ''}"
        f"{machine.get('cpu_count')} CPUs ({machine.get('cpu')}) · torch {machine.get('torch')}, "
        f"{machine.get('torch_threads')} threads · diffusers {machine.get('diffusers')}{cuda} · "
        f"Python {machine.get('python')} · load {_loads(machine)} · "
        f"{figures.get('seconds_total', 0.0):.1f} s in all",
        style="dim",
    )
    return Group(_speed_table(figures), _sharding_table(figures), footer)


# --- attribution ----------------------------------------------------------------------------


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


def _comparison_table(data: dict[str, Any]) -> Table:
    table = Table(
        title=f"Paired bootstrap over targets: {data['name']}",
        caption="difference of LDS points (a − b), 95% interval; better = interval excludes 0",
    )
    for label in ("a", "b", "targets", "a − b", "95% interval", "verdict"):
        table.add_column(label, justify="right" if label in ("a − b", "95% interval") else "left")
    for c in data["comparisons"]:
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


def render_attribution_bench(figures: dict[str, Any]) -> Group:
    """Per data set: the LDS table, the paired comparisons and the counterfactual line; then
    the latency line and a line about the machine."""
    parts: list[Any] = []
    for data in figures["datasets"]:
        parts.append(_lds_table(data, figures["default_method"]))
        if data["comparisons"]:
            parts.append(_comparison_table(data))
        parts.append(_reliability_text(data))
        parts.append(_counterfactual_text(data))
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
