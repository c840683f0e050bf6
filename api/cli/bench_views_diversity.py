"""How `museum bench diversity` shows its figures: per data set, the arms on the comparable
conditions, the paired differences with the verdict, the one prompt, the process model's other
roles and the embedding's own accuracy; then the set-up and the machine."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from generation.diversity_bench.figures import (
    DatasetRead,
    DiversityBenchRead,
    IntervalRead,
)

_VERDICT_STYLE = {"yes": "green", "no": "red", "not shown": "yellow"}


def _iv(value: IntervalRead | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value.value:.{digits}f} [{value.low:.{digits}f}, {value.high:.{digits}f}]"


def _arms(data: DatasetRead) -> Table:
    table = Table(
        title=f"{data.dataset}: the arms on {len(data.conditions)} conditions (final × emotion)",
        caption=(
            "Vendi: per condition, mean over (seed, condition) pairs; pooled: all conditions' "
            "samples together, over seeds · precision / recall vs held-back real finals "
            f"({data.held_back_finals}), k-NN in the embedding · loss: held-back finals' "
            "denoising MSE · 95 % bootstrap intervals"
        ),
    )
    for label in (
        "arm",
        "trained items",
        "Vendi pixels",
        "Vendi embedding",
        "pooled Vendi emb.",
        "precision",
        "recall",
        "held-back loss",
    ):
        table.add_column(label, justify="right")
    for arm in data.arms:
        table.add_row(
            arm.arm,
            str(arm.trained_items),
            _iv(arm.vendi_pixels, 2),
            _iv(arm.vendi_embedding, 2),
            _iv(arm.vendi_pooled_embedding, 2),
            _iv(arm.precision, 2),
            _iv(arm.recall, 2),
            _iv(arm.held_back_loss, 4),
        )
    return table


def _comparisons(data: DatasetRead) -> Table:
    table = Table(title=f"{data.dataset}: paired differences, arm − finals (95 % intervals)")
    for label in (
        "arm",
        "Vendi pixels",
        "Vendi embedding",
        "precision",
        "recall",
        "loss ratio",
        "more diverse at equal quality",
    ):
        table.add_column(label, justify="right")
    for c in data.comparisons:
        ratio = "—" if c.held_back_loss_ratio is None else f"{c.held_back_loss_ratio:.3f}"
        verdict = c.more_diverse_at_equal_quality
        table.add_row(
            c.arm,
            _iv(c.vendi_pixels_diff, 2),
            _iv(c.vendi_embedding_diff, 2),
            _iv(c.precision_diff, 2),
            _iv(c.recall_diff, 2),
            ratio,
            Text(f"{verdict}: {c.because}", style=_VERDICT_STYLE.get(verdict, "")),
        )
    return table


def _prompt(data: DatasetRead) -> Table:
    p = data.prompt
    sheet = f" · contact sheet {p.contact_sheet}" if p.contact_sheet else ""
    table = Table(
        title=f"{data.dataset}: one request, {p.samples} answers each — {p.condition}",
        caption=(
            f"embedding space, over seeds; spread difference process − finals "
            f"{_iv(p.distance_diff)}{sheet}"
        ),
    )
    for label in ("arm", "mean pairwise distance", "Vendi embedding"):
        table.add_column(label, justify="right")
    for arm in p.arms:
        table.add_row(arm.arm, _iv(arm.mean_pairwise_distance), _iv(arm.vendi_embedding, 2))
    return table


def _roles(data: DatasetRead) -> Table | None:
    rows = [(arm.arm, role) for arm in data.arms for role in arm.other_roles]
    if not rows:
        return None
    table = Table(
        title=f"{data.dataset}: the process model asked for its other roles (no finals arm)",
        caption="samples pooled over the role's emotions; vs held-back real stages of the role",
    )
    for label in ("arm", "role", "samples", "real", "Vendi emb.", "precision", "recall"):
        table.add_column(label, justify="right")
    for arm, role in rows:
        table.add_row(
            arm,
            role.role,
            str(role.samples),
            str(role.held_back_real),
            _iv(role.vendi_embedding, 2),
            _iv(role.precision, 2),
            _iv(role.recall, 2),
        )
    return table


def _dataset(data: DatasetRead) -> list[Table | Text]:
    e = data.embedding
    about = Text(
        f"{data.description} · {data.training_stages} training stages ({data.training_finals} "
        f"finals), {data.held_back_stages} held back · embedding: {e.trained_on} stages, "
        f"{e.steps} steps; held-out accuracy on {e.held_out}: role {e.role_accuracy:.2f} "
        f"(majority {e.chance_role:.2f}), {e.group} {e.group_accuracy:.2f} "
        f"(majority {e.chance_group:.2f})",
        style="dim",
    )
    parts: list[Table | Text] = [_arms(data), _comparisons(data), _prompt(data)]
    roles = _roles(data)
    if roles is not None:
        parts.append(roles)
    parts.append(about)
    return parts


def render_diversity_bench(figures: DiversityBenchRead) -> Group:
    """Every data set's tables, the verdict rule, and a line on the set-up and machine."""
    machine = figures.machine
    load_start, load_end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    load = (
        f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at end"
        if load_start and load_end
        else "n/a"
    )
    parts: list[Table | Text] = []
    if not figures.measured:
        parts.append(Text("test sizes: these figures measure nothing", style="bold red"))
    for data in figures.datasets:
        parts += _dataset(data)
    parts.append(Text(f"conditions: {figures.comparable}", style="dim"))
    parts.append(Text(f"verdict rule: {figures.verdict_rule}", style="dim"))
    parts.append(
        Text(
            f"{'quick run · ' if figures.quick else ''}preset {figures.preset}, "
            f"{figures.train_steps} steps at batch {figures.batch_size} per arm and seed, seeds "
            f"{figures.seeds}, {figures.samples} samples per condition, {figures.sample_steps} "
            f"DDIM steps, k = {figures.k}, {figures.bootstrap} bootstrap resamples · "
            f"{machine.get('cpu_count')} CPUs ({machine.get('cpu')}) · torch "
            f"{machine.get('torch')}, {machine.get('torch_threads')} threads · load {load} · "
            f"{figures.seconds_total:.0f} s in all",
            style="dim",
        )
    )
    return Group(*parts)
