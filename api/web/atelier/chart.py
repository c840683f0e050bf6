"""The loss curve as inline SVG, drawn on the server: steps across, loss up, one line per shard.

Pure: the run's curves in, escaped markup out, so the page, its live stream and a replay frame
draw the same picture, and a test can read it. Colours come from the stylesheet (`.shard-N`),
never from the markup (the pages' CSP allows no inline style).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ledger.atelier import ShardCurveRead

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 12, 30
SHARD_COLOURS = 4  # .shard-0 … .shard-3 in atelier.css, then again


def _nice(high: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above `high` (> 0): the top of the y axis."""
    power = math.pow(10, math.floor(math.log10(high)))
    for factor in (1.0, 2.0, 2.5, 5.0):
        if high <= factor * power * (1 + 1e-9):
            return factor * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _tick(value: float) -> str:
    return f"{value:.3g}"


def _describe(curves: Sequence[ShardCurveRead]) -> str:
    drawn = [c for c in curves if c.points]
    if not drawn:
        return "Training loss by step: no loss recorded yet"
    parts = []
    for curve in drawn:
        first, last = curve.points[0], curve.points[-1]
        who = f"shard {curve.shard + 1}" if len(curves) > 1 else "loss"
        parts.append(
            f"{who} from {first.loss:.3f} at step {first.step} to {last.loss:.3f} at step {last.step}"
        )
    return "Training loss by step: " + "; ".join(parts)


def loss_curve_svg(curves: Sequence[ShardCurveRead], steps: int) -> str:
    """The curves on axes from step 0 to `steps` (a shard's steps; more if a point lies
    beyond) and from loss 0 to a round number above the highest loss."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    points = [p for c in curves for p in c.points]
    x_high = max([steps, 1, *(p.step for p in points)])
    highest = max((p.loss for p in points), default=0.0)
    y_high = _nice(highest) if highest > 0 else 1.0

    def x(step: float) -> float:
        return LEFT + plot_w * step / x_high

    def y(loss: float) -> float:
        return TOP + plot_h * (1 - min(max(loss, 0.0), y_high) / y_high)

    out = [
        f'<svg class="loss-curve" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-label="{escape(_describe(curves))}">'
    ]
    for i in range(5):
        value = y_high * i / 4
        at = _number(y(value))
        out.append(f'<line class="grid" x1="{LEFT}" y1="{at}" x2="{WIDTH - RIGHT}" y2="{at}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{at}" text-anchor="end" '
            f'dominant-baseline="middle">{_tick(value)}</text>'
        )
    base = _number(y(0))
    out.append(f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>')
    for step in sorted({0, x_high // 2, x_high}):
        out.append(
            f'<text class="tick" x="{_number(x(step))}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{step}</text>'
        )
    out.append(
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{TOP}" text-anchor="end" '
        f'dominant-baseline="hanging">step</text>'
    )
    if not points:
        out.append(
            f'<text class="empty" x="{LEFT + plot_w // 2}" y="{TOP + plot_h // 2}" '
            f'text-anchor="middle">no loss recorded yet</text>'
        )
    for curve in curves:
        if not curve.points:
            continue
        colour = f"shard-{curve.shard % SHARD_COLOURS}"
        line = " ".join(f"{_number(x(p.step))},{_number(y(p.loss))}" for p in curve.points)
        end = curve.points[-1]
        out.append(f'<polyline class="curve {colour}" fill="none" points="{line}"/>')
        out.append(
            f'<circle class="end {colour}" cx="{_number(x(end.step))}" '
            f'cy="{_number(y(end.loss))}" r="3.5"/>'
        )
    out.append("</svg>")
    return "".join(out)
