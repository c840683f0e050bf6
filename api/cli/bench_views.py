"""How `museum bench …` shows its figures: rich tables and lines built from the JSON-ready
figures each harness returns. The harnesses print nothing; each renderer loads its harness's
targets only when it runs, so showing the ledger bench never imports torch."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from api.cli.bench_views_api import render_api_bench
from api.cli.bench_views_attribution import render_attribution_bench

__all__ = [
    "render_api_bench",
    "render_attribution_bench",
    "render_generation_bench",
    "render_ledger_bench",
    "render_royalties_bench",
]


def _verdict(value: str, ok: bool) -> Text:
    return Text(f"{value} {'✓' if ok else '✗'}", style="green" if ok else "red")


# --- ledger ---------------------------------------------------------------------------------


def render_ledger_bench(figures: dict[str, Any]) -> Table | Group:
    """A column per backend, a row per figure, targets on the right; then the C2SP formats
    and backup / restore, where the run measured them."""
    parts: list[Table] = [_ledger_table(figures)]
    if "c2sp" in figures:
        from api.cli.bench_views_c2sp import render_c2sp_bench

        parts.append(render_c2sp_bench(figures["c2sp"]))
    if "backup" in figures:
        parts.append(render_backup_figures(figures["backup"]))
    return parts[0] if len(parts) == 1 else Group(*parts)


def _ledger_table(figures: dict[str, Any]) -> Table:
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

    def rotation(backend: str, key: str, fmt: str) -> str | Text:
        data = figures.get(backend, {})
        if data.get("skipped", True) or "rotation" not in data:
            return Text("skipped", style="dim")
        return format(data["rotation"][key], fmt)

    artists = figures.get("rotation_artists", 0)
    for label, key, fmt in (
        (f"master-key rotation, {artists:,} artists, s", "rotate_seconds", ".2f"),
        ("  per artist key, µs", "us_per_artist", ",.0f"),
        ("  raw rewrite of the vault, s", "raw_rewrite_seconds", ".3f"),
        ("  rotation ÷ raw rewrite", "rotate_to_raw_ratio", ".1f"),
    ):
        table.add_row(label, *(rotation(b, key, fmt) for b in backends), "")
    return table


def render_backup_figures(backup: dict[str, Any]) -> Table:
    """`museum backup` and `museum restore` beside a plain copy: a column per museum."""
    cases = backup["cases"]
    table = Table(
        title="Backup and restore (embedded SQLite), beside a plain copy of the same files",
        caption="restore: every file checked against the manifest, then the full `ledger verify`",
    )
    table.add_column("figure")
    for case in cases:
        table.add_column(case["name"], justify="right")
    rows = [
        ("events", "events", ",d"),
        ("blobs", "blobs", ",d"),
        ("live data, MB", "live_bytes", "mb"),
        ("backup, MB", "backup_bytes", "mb"),
        ("backup ÷ live size", "backup_to_live_size", ".2f"),
        ("plain copy (baseline), s", "copy_seconds", ",.2f"),
        ("museum backup, s", "backup_seconds", ",.2f"),
        ("backup ÷ plain copy", "backup_to_copy_ratio", ",.1f"),
        ("museum restore, s", "restore_seconds", ",.2f"),
        ("  of which verifying the log, s", "restore_verify_seconds", ",.2f"),
        ("restore ÷ plain copy", "restore_to_copy_ratio", ",.1f"),
    ]
    for label, key, fmt in rows:
        values = [
            f"{case[key] / 1e6:,.1f}" if fmt == "mb" else format(case[key], fmt) for case in cases
        ]
        table.add_row(label, *values)
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
