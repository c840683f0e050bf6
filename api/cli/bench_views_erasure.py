"""How `museum bench erasure` shows its figures: one row per shard count (costs, quality, the
attack before and after), the loss distributions behind the attack, the targets, the set-up."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from generation.erasure_bench.figures import (
    TARGET_AUC_AFTER,
    TARGET_QUALITY_RATIO,
    ErasureBenchRead,
    LossSpread,
    MembershipRead,
)


def _verdict(value: str, ok: bool) -> Text:
    return Text(f"{value} {'✓' if ok else '✗'}", style="green" if ok else "red")


def _auc(attack: MembershipRead) -> str:
    return f"{attack.auc:.2f} [{attack.auc_low:.2f}, {attack.auc_high:.2f}]"


def _retrained(shards: list[int], of: int) -> str:
    """How many shards of S were trained again, and which ("1 of 8: #0")."""
    which = ", ".join(f"#{shard}" for shard in shards)
    return f"{len(shards)} of {of}" + (f": {which}" if shards else "")


def _runs(figures: ErasureBenchRead) -> Table:
    table = Table(
        title=(
            f"Erasure bench: {figures.erased_donors} donors ({figures.erased_items} items) of one "
            f"shard erased in one window; {figures.training_items} items trained, "
            f"{figures.held_back_items} never seen"
        ),
        caption=(
            "erasure retrain: first request → new version deployed (retrain(now=True)) · "
            "cost vs full: its CPU time over S = 1's (wall ratio: the same in wall-clock time) · "
            "held-back loss: ensemble epsilon MSE before the erasure · AUC: loss-threshold "
            "attack, erased vs never-seen, 95 % bootstrap interval"
        ),
    )
    for label in (
        "S",
        "base train s",
        "erasure retrain s (cpu s)",
        "cost vs full",
        "target",
        "wall ratio",
        "shards retrained",
        "held-back loss",
        "vs S = 1",
        "AUC before",
        "AUC after",
    ):
        table.add_column(label, justify="right")
    for run in figures.runs:
        baseline = run.shards == 1
        cost = f"{run.cost_vs_full:.3f}"
        quality = f"{run.loss_vs_single:.3f}"
        table.add_row(
            str(run.shards),
            f"{run.base_train_seconds:.1f}",
            f"{run.erasure_seconds:.1f} ({run.erasure_cpu_seconds:.1f})",
            cost if baseline else _verdict(cost, run.meets_cost_target),
            "baseline" if baseline else f"≤ {run.cost_target:.3f}",
            f"{run.wall_cost_vs_full:.3f}",
            _retrained(run.shards_retrained, run.shards),
            f"{run.held_back_loss:.4f}",
            quality if baseline else _verdict(quality, run.meets_quality_target),
            _auc(run.before),
            _verdict(_auc(run.after), run.meets_auc_target),
        )
    return table


def _spread(losses: LossSpread) -> str:
    return f"{losses.mean:.4f} ({losses.q1:.4f} · {losses.median:.4f} · {losses.q3:.4f})"


def _distributions(figures: ErasureBenchRead) -> Table:
    table = Table(
        title="Per-item denoising loss under the deployed model: mean (quartiles)",
        caption=(
            f"each item's loss is its mean over {len(figures.eval_timesteps)} fixed "
            "(timestep, noise) draws, the same for every model"
        ),
    )
    for label in ("S", "model", "erased items", "never-seen items", "AUC"):
        table.add_column(label, justify="right")
    for run in figures.runs:
        for when, attack in (("before", run.before), ("after", run.after)):
            table.add_row(
                str(run.shards),
                f"{when} ({run.base_version[:8] if when == 'before' else run.new_version[:8]})",
                _spread(attack.erased),
                _spread(attack.never_seen),
                f"{attack.auc:.3f}",
            )
    return table


def _targets(figures: ErasureBenchRead) -> Table:
    table = Table(title="Targets")
    table.add_column("target")
    table.add_column("result")
    for verdict in figures.verdicts:
        shown = (
            Text("not measured", style="dim")
            if verdict.met is None
            else Text("met ✓", style="green")
            if verdict.met
            else Text("not met ✗", style="red")
        )
        table.add_row(verdict.target, shown)
    return table


def render_erasure_bench(figures: ErasureBenchRead) -> Group:
    """The runs, the loss distributions, the targets and a line on the set-up and machine."""
    machine = figures.machine
    load_start, load_end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    load = (
        f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at end"
        if load_start and load_end
        else "n/a"
    )
    setup = Text(
        f"{figures.data} · shards by artist, {figures.donors_per_shard} donors in each of "
        f"{figures.balanced_over} shards ({figures.registered} registered) · {figures.budget} · "
        f"quality target ≤ {TARGET_QUALITY_RATIO:.2f} at S = 4, AUC after ≤ {TARGET_AUC_AFTER} · "
        f"untrained loss {figures.untrained_loss:.4f}",
        style="dim",
    )
    footer = Text(
        f"{'quick run · ' if figures.quick else ''}{machine.get('cpu_count')} CPUs "
        f"({machine.get('cpu')}) · torch {machine.get('torch')}, {machine.get('torch_threads')} "
        f"threads · Python {machine.get('python')} · load {load} · "
        f"{figures.seconds_total:.1f} s in all (seeding {figures.seed_seconds:.1f} s)",
        style="dim",
    )
    return Group(_runs(figures), _distributions(figures), _targets(figures), setup, footer)
