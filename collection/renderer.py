"""The procedural renderer: seeded styles and motifs drawn with numpy into PNG stages."""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from collection.words import _COLOUR_NAMES, FAMILIES
from ledger.vocabulary import FailureType

Array = NDArray[np.float64]
RGB = tuple[float, float, float]

# --------------------------------------------------------------------------------------------
# Styles and motifs
# --------------------------------------------------------------------------------------------

_GOLDEN = 0.6180339887498949
_EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
_LAST_START = datetime(2025, 9, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Style:
    """What stays fixed across one artist's works: the motif family, palette and hand."""

    family: str
    hue: float
    dark: bool
    angle: float
    freq: float
    stroke: float
    aspect: float
    arms: int
    accent: float
    phase: float
    layout: tuple[tuple[float, float], ...]
    name: str


@dataclass(frozen=True)
class _Motif:
    """What changes from one work to the next within a style: placement, phase, blob layout."""

    cx: float
    cy: float
    phase: float
    tilt: float
    blobs: tuple[tuple[float, float], ...]


def _frac(value: float) -> float:
    return value - float(np.floor(value))


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(_frac(h), min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (r, g, b)


def _palette(style: _Style, hue_shift: float = 0.0, muddy: float = 0.0) -> tuple[RGB, RGB, RGB]:
    """Paper, ink and accent colours; `hue_shift` and `muddy` are how colour failures go wrong."""
    h = style.hue + hue_shift
    if style.dark:
        paper = _hsv(h, 0.55 + 0.3 * muddy, 0.18 + 0.25 * muddy)
        ink = _hsv(h + 0.03, 0.30 + 0.4 * muddy, 0.96 - 0.45 * muddy)
        accent = _hsv(h - 0.10, 0.75, 0.90 - 0.3 * muddy)
    else:
        paper = _hsv(h + 0.05, 0.10 + 0.5 * muddy, 0.95 - 0.2 * muddy)
        ink = _hsv(h, 0.80 - 0.4 * muddy, 0.40 + 0.3 * muddy)
        accent = _hsv(h + 0.12, 0.85, 0.75)
    return paper, ink, accent


def _make_style(index: int, family_offsets: Array, rng: np.random.Generator) -> _Style:
    """Spread styles so that artists sharing a family differ in hue, angle, rhythm and weight.

    Successive members of a family step by the golden ratio, which keeps them far apart whatever
    the number of artists.
    """
    family_index = index % len(FAMILIES)
    family = FAMILIES[family_index]
    k = index // len(FAMILIES)
    base = family_offsets[family_index]
    hue = _frac(float(base[0]) + k * _GOLDEN)
    angle = _frac(float(base[1]) + k * (1.0 - _GOLDEN)) * np.pi
    freq = 1.5 + 1.6 * _frac(float(base[2]) + k * 0.7236)
    stroke = 0.12 + 0.18 * _frac(float(base[3]) + k * 0.4142)
    aspect = 0.55 + 0.45 * _frac(float(base[4]) + k * 0.5698)
    dark = (k + family_index) % 3 == 2
    arms = 1 + (k + family_index) % 3
    accent = 0.25 + 0.55 * _frac(float(base[5]) + k * _GOLDEN)
    colour = _COLOUR_NAMES[int(hue * len(_COLOUR_NAMES)) % len(_COLOUR_NAMES)]
    weight = "fine" if stroke < 0.18 else "medium" if stroke < 0.24 else "bold"
    ground = "dark" if dark else "light"
    degrees = round(np.degrees(angle)) % 180
    name = f"{family}-{colour}-{ground}-{weight}-{degrees:03d}deg-{index:02d}"
    count = int(rng.integers(3, 6))
    layout = tuple((float(u), float(v)) for u, v in rng.uniform(-0.55, 0.55, size=(count, 2)))
    return _Style(
        family,
        hue,
        dark,
        angle,
        freq,
        stroke,
        aspect,
        arms,
        accent,
        float(rng.random()),
        layout,
        name,
    )


def _make_motif(style: _Style, rng: np.random.Generator) -> _Motif:
    """A new work in the same hand: the artist's habits, varied a little."""
    cx, cy = (float(v) for v in rng.uniform(-0.08, 0.08, size=2))
    jitter = rng.uniform(-0.15, 0.15, size=(len(style.layout), 2))
    pairs = zip(style.layout, jitter.tolist(), strict=True)
    blobs = tuple((u + du, v + dv) for (u, v), (du, dv) in pairs)
    phase = style.phase + float(rng.uniform(-0.15, 0.15))
    return _Motif(cx, cy, phase, float(rng.uniform(-0.06, 0.06)), blobs)


# --------------------------------------------------------------------------------------------
# Rendering (numpy on a normalised [-1, 1] square; one pixel is `px` wide)
# --------------------------------------------------------------------------------------------


def _clip01(values: Array) -> Array:
    clipped: Array = np.clip(values, 0.0, 1.0)
    return clipped


def _grid(size: int) -> tuple[Array, Array, float]:
    px = 2.0 / size
    axis = np.linspace(-1.0 + px / 2, 1.0 - px / 2, size)
    x, y = np.meshgrid(axis, axis)
    return x, y, px


def _band(t: Array, grad: Array | float, stroke: float, px: float) -> Array:
    """Anti-aliased lines at the integer level sets of `t`, `stroke` periods wide on each side."""
    dist = np.abs(t - np.rint(t)) / grad
    return _clip01((stroke / grad - dist) / px + 0.5)


def _ink(
    family: str,
    style: _Style,
    motif: _Motif,
    x: Array,
    y: Array,
    px: float,
    scale: tuple[float, float] = (1.0, 1.0),
) -> Array:
    """Coverage in [0, 1] of the artist's motif; `scale` distorts proportions on purpose."""
    a = style.angle + motif.tilt
    u0, v0 = x - motif.cx, y - motif.cy
    u = (u0 * np.cos(a) + v0 * np.sin(a)) * scale[0]
    v = (-u0 * np.sin(a) + v0 * np.cos(a)) * scale[1]
    f, s, phase = style.freq, style.stroke, motif.phase
    if family == "rings":
        return _band(np.hypot(u, v / style.aspect) * f + phase, f, s, px)
    if family == "stripes":
        return _band(u * f + phase, f, s, px)
    if family == "spiral":
        r = np.hypot(u, v)
        t = r * f + style.arms * np.arctan2(v, u) / (2 * np.pi) + phase
        grad = np.hypot(f, style.arms / (2 * np.pi * np.maximum(r, px)))
        return _band(t, grad, s, px)
    if family == "grid":
        tu, tv = u * f + phase, v * f + 0.5 * phase
        half = 0.5 - 0.9 * s
        fu, fv = np.abs(tu - np.rint(tu)), np.abs(tv - np.rint(tv))
        edge = f * px
        cov_u = _clip01((half - fu) / edge + 0.5)
        return cov_u * _clip01((half - fv) / edge + 0.5)
    if family == "blobs":
        sigma = 0.10 + 0.6 * s
        field = np.zeros_like(u)
        for bu, bv in motif.blobs:
            du, dv = (u - bu) / sigma, (v - bv) / (sigma * style.aspect)
            field += np.exp(-0.5 * (du * du + dv * dv))
        return _clip01((field - 0.55) / 0.12 + 0.5)
    if family == "triangles":
        turns = [np.pi / 2 + 2 * np.pi * k / 3 for k in range(3)]
        d = np.maximum.reduce([np.cos(t) * u + np.sin(t) * v for t in turns])
        return _band(d * f * 1.3 + phase, f * 1.3, s, px)
    if family == "waves":
        amp, wf = 0.18, 0.6 + 0.6 * style.aspect
        arg = 2 * np.pi * (wf * u + phase)
        t = (v + amp * np.sin(arg)) * f + phase
        grad = f * np.hypot(1.0, amp * 2 * np.pi * wf * np.cos(arg))
        return _band(t, grad, s, px)
    if family == "dots":
        tu, tv = u * f + phase, v * f + 0.5 * phase
        dist = np.hypot(tu - np.rint(tu), tv - np.rint(tv))
        radius = s * 1.5 * (0.55 + 0.45 * _clip01((u + 1.0) / 2.0))
        return _clip01((radius - dist) / (f * px) + 0.5)
    raise ValueError(f"unknown style family {family!r}")


def _colourise(
    ink: Array, style: _Style, motif: _Motif, x: Array, palette: tuple[RGB, ...]
) -> Array:
    paper, main, accent = (np.asarray(c, dtype=np.float64) for c in palette)
    a = style.angle + motif.tilt
    g = _clip01((x * np.cos(a) + 1.0) / 2.0)[..., None] * style.accent
    colour = main * (1.0 - g) + accent * g
    cover = ink[..., None]
    rgb: Array = paper * (1.0 - cover) + colour * cover
    return rgb


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> Array:
    """Bilinearly upsampled random lattice: blotchy masks for sketches, flakes and coverage."""
    lattice = rng.random((cells + 1, cells + 1))
    t = np.linspace(0.0, float(cells), size)
    i0 = np.minimum(np.floor(t).astype(np.int64), cells - 1)
    w = t - i0
    rows = lattice[i0, :] * (1.0 - w)[:, None] + lattice[i0 + 1, :] * w[:, None]
    out: Array = rows[:, i0] * (1.0 - w)[None, :] + rows[:, i0 + 1] * w[None, :]
    return out


def _shift(img: Array, dx: int, dy: int) -> Array:
    """Translate by whole pixels, repeating the border instead of wrapping around."""
    pad = max(abs(dx), abs(dy))
    if pad == 0:
        return img
    widths = [(pad, pad), (pad, pad)] + [(0, 0)] * (img.ndim - 2)
    padded = np.pad(img, widths, mode="edge")
    h, w = img.shape[:2]
    out: Array = padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w]
    return out


def _edges(ink: Array) -> Array:
    gy, gx = np.gradient(ink)
    mag = np.hypot(gx, gy)
    peak = float(mag.max())
    if peak < 1e-9:
        return np.zeros_like(ink)
    return _clip01(mag / peak * 1.8)


def _sketch(style: _Style, motif: _Motif, size: int, rng: np.random.Generator) -> Array:
    """A light, broken graphite outline of the motif on bare paper."""
    x, y, px = _grid(size)
    lines = _edges(_ink(style.family, style, motif, x, y, px))
    keep = _smooth_noise(rng, size, 4) > float(rng.uniform(0.25, 0.45))
    strength = float(rng.uniform(0.4, 0.6))
    cover = (lines * keep * strength)[..., None]
    paper = np.asarray(_hsv(style.hue + 0.05, 0.06, 0.97), dtype=np.float64)
    graphite = np.asarray((0.30, 0.30, 0.34), dtype=np.float64)
    rgb: Array = paper * (1.0 - cover) + graphite * cover
    return rgb


def _render(
    style: _Style,
    motif: _Motif,
    size: int,
    rng: np.random.Generator,
    defect: str | None,
    strength: float,
    coverage: float = 1.0,
) -> Array:
    """The motif as painted, with `defect` (a FailureType value) applied at `strength` in [0, 1].

    `coverage` below one leaves part of the sheet at the sketch stage, as an attempt in progress.
    """
    x, y, px = _grid(size)
    s = strength
    xw, yw = x, y
    scale = (1.0, 1.0)
    if defect == FailureType.PERSPECTIVE.value:
        keystone, shear = 0.8 * s * float(rng.choice([-1.0, 1.0])), 0.6 * s
        xw = x * (1.0 + keystone * y) + shear * y
        yw = y * (1.0 + 0.3 * s * x)
    elif defect == FailureType.PROPORTION.value:
        scale = (1.0 + 0.9 * s, 1.0 - 0.45 * s)
        if rng.random() < 0.5:
            scale = (scale[1], scale[0])
    ink = _ink(style.family, style, motif, xw, yw, px, scale)
    if defect == FailureType.COMPOSITION.value:
        corner = rng.choice([-1.0, 1.0], size=2) * 0.55 * s
        zoomed = _ink(style.family, style, motif, (x - corner[0]) * 2.0, (y - corner[1]) * 2.0, px)
        box = np.maximum(np.abs(x - corner[0]), np.abs(y - corner[1]))
        window = _clip01((0.5 - box) / px)
        ink = (1.0 - s) * ink + s * zoomed * window
    elif defect == FailureType.CONCEPT.value:
        others = [f for f in FAMILIES if f != style.family]
        other = others[int(rng.integers(len(others)))]
        ink = (1.0 - s) * ink + s * _ink(other, style, motif, x, y, px)
    elif defect == FailureType.MATERIAL.value:
        flakes = _smooth_noise(rng, size, 5) > 1.0 - 0.45 * s
        ink = ink * ~flakes
        for _ in range(1 + round(3 * s)):
            cx, cy = (int(v) for v in rng.integers(0, size, size=2))
            direction = float(rng.uniform(0, 2 * np.pi))
            for _step in range(size):
                direction += float(rng.normal(0.0, 0.5))
                cx = round(cx + np.cos(direction))
                cy = round(cy + np.sin(direction))
                if not (0 <= cx < size and 0 <= cy < size):
                    break
                ink[cy, cx] = 0.0
    elif defect == FailureType.ABANDONED.value:
        coverage = min(coverage, 1.0 - 0.7 * s)
    if coverage < 1.0:
        a = float(rng.uniform(0, 2 * np.pi))
        sweep = (x * np.cos(a) + y * np.sin(a) + 1.0) / 2.0
        done = _clip01((coverage - sweep) / (2 * px) + 0.5)
        ink = ink * done

    hue_shift, muddy = 0.0, 0.0
    if defect == FailureType.COLOUR.value:
        hue_shift, muddy = (0.25 + 0.25 * s) * s * float(rng.choice([-1.0, 1.0])), 0.8 * s
    rgb = _colourise(ink, style, motif, x, _palette(style, hue_shift, muddy))
    if coverage < 1.0:
        unfinished = (1.0 - done)[..., None]
        rgb = rgb * (1.0 - unfinished) + _sketch(style, motif, size, rng) * unfinished

    if defect == FailureType.ACCIDENT.value:
        bx, by = (float(v) for v in rng.uniform(-0.5, 0.5, size=2))
        rx, ry = (float(v) for v in rng.uniform(0.2, 0.35, size=2) * (0.6 + 0.6 * s))
        d = np.hypot((x - bx) / rx, (y - by) / ry)
        drip = (np.abs(x - bx) < 1.5 * px) & (y > by) & (y < by + 0.8 * s)
        blot = np.maximum(_clip01((1.0 - d) / (3 * px / rx) + 0.5), drip * 1.0)
        stain = np.asarray(_hsv(style.hue + 0.6, 0.7, 0.12), dtype=np.float64)
        rgb = rgb * (1.0 - blot[..., None]) + stain * blot[..., None]
    elif defect == FailureType.TECHNIQUE.value:
        length = 1 + round(6 * s)
        a = float(rng.uniform(0, 2 * np.pi))
        smear = np.zeros_like(rgb)
        for k in range(length + 1):
            smear += _shift(rgb, round(k * np.cos(a)), round(k * np.sin(a)))
        rgb = smear / (length + 1)
    elif defect == FailureType.OTHER.value:
        dx, dy = (int(v) for v in rng.integers(2, 5, size=2) * rng.choice([-1, 1], size=2))
        rgb = (1.0 - 0.45 * s) * rgb + 0.45 * s * _shift(rgb, dx, dy)
    return rgb


def _png(rgb: Array, rng: np.random.Generator, grain: float = 0.012) -> bytes:
    """Quantise with a little paper grain (real scans are never flat) and encode as PNG."""
    noisy = rgb + rng.normal(0.0, grain, size=rgb.shape)
    pixels = np.clip(np.rint(noisy * 255.0), 0, 255).astype(np.uint8)
    return _encode(pixels)


def _encode(pixels: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _distinct(png: bytes, seen: set[bytes]) -> bytes:
    """Nudge one pixel until the bytes are new, so no two stages of a donation are identical."""
    nudge = 0
    while png in seen:
        with Image.open(io.BytesIO(png)) as img:
            pixels = np.array(img)
        flat = pixels.reshape(-1)
        flat[nudge % flat.size] ^= 1
        nudge += 1
        png = _encode(pixels)
    seen.add(png)
    return png
