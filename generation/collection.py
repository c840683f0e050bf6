"""Demo and benchmark collections, built in code so that tests, demos and benchmarks never need a
download, a GPU or real donors' work.

`founding_collection` draws a procedural founding collection: every artist has a recognisable
style, every donation is a whole process (sketch, attempts, failures, final) with a museum label.
`digits_collection` donates scikit-learn's bundled handwritten digits as single-stage finals, so
that benchmarks run on real data with a known class per donation.
"""

from __future__ import annotations

import colorsys
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ledger.schemas import (
    ArtistCreate,
    DonationCreate,
    DonationTags,
    MuseumLabel,
    RightsAttestation,
    StageCreate,
)
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole

__all__ = [
    "DIGIT_EMOTIONS",
    "FAMILIES",
    "ArtistDraft",
    "DonationDraft",
    "digits_collection",
    "donation_request",
    "founding_collection",
]

Array = NDArray[np.float64]
RGB = tuple[float, float, float]


def _words(text: str) -> tuple[str, ...]:
    """Phrase tables of single words, written as one string to keep the tables short."""
    return tuple(text.split())


# --------------------------------------------------------------------------------------------
# Public data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationDraft:
    """A donation before its artist exists in the ledger (the artist id is not known yet).

    `style` names the visual style the images were drawn in, and `digit` the handwritten digit
    class of a `digits_collection` item (None elsewhere), so that tests and benchmarks can read
    the ground truth back without parsing label text.
    """

    stages: tuple[StageCreate, ...]
    label: MuseumLabel
    tags: DonationTags
    consents: tuple[str, ...]
    style: str
    digit: int | None = None


@dataclass(frozen=True)
class ArtistDraft:
    """A donor and everything they give, ready to be registered and donated in order."""

    artist: ArtistCreate
    style: str
    donations: tuple[DonationDraft, ...]


def donation_request(artist_id: UUID, draft: DonationDraft) -> DonationCreate:
    """Turn a draft into the ledger's request once the artist is registered; the demo donors
    affirm the rights statement, since the collection is made up for the purpose."""
    return DonationCreate(
        artist_id=artist_id,
        stages=draft.stages,
        label=draft.label,
        attestation=RightsAttestation(affirmed=True),
        tags=draft.tags,
        consents=draft.consents,
    )


# --------------------------------------------------------------------------------------------
# Phrase tables (small on purpose: variety comes from combining them with the seeded RNG)
# --------------------------------------------------------------------------------------------

FAMILIES: tuple[str, ...] = (
    "rings",
    "stripes",
    "spiral",
    "grid",
    "blobs",
    "triangles",
    "waves",
    "dots",
)

_MOTIFS: dict[str, tuple[str, ...]] = {
    "rings": ("rings", "ripples", "concentric circles", "tree rings"),
    "stripes": ("stripes", "bands", "slanted lines", "barcode"),
    "spiral": ("spiral", "coil", "whirlpool", "snail shell"),
    "grid": ("grid of squares", "tiles", "windows", "quilt blocks"),
    "blobs": ("blobs", "puddles", "pebbles", "cells"),
    "triangles": ("triangles", "nested peaks", "pyramid", "shards"),
    "waves": ("waves", "currents", "dunes", "wavy lines"),
    "dots": ("dots", "halftone", "freckles", "dot screen"),
}

_TITLE_NOUNS: dict[str, tuple[str, ...]] = {
    "rings": ("Echo", "Well", "Tree Rings", "Ripple", "Target"),
    "stripes": ("Fence", "Rain", "Tide Lines", "Awning", "Barcode"),
    "spiral": ("Whirlpool", "Snail", "Galaxy", "Coil", "Fern"),
    "grid": ("Windows", "Tiles", "Ledger", "Quilt", "Tenement"),
    "blobs": ("Puddles", "Clouds", "Pebbles", "Cells", "Lava Lamp"),
    "triangles": ("Mountains", "Kites", "Pyramid", "Shards", "Roofs"),
    "waves": ("Current", "Dunes", "Wind", "Hair", "Harbour"),
    "dots": ("Freckles", "Constellation", "Rain Dots", "Halftone", "Seeds"),
}

_TITLE_ADJECTIVES = _words(
    "Quiet Crooked Borrowed Late Small Second Unfinished Patient Stubborn Salt Paper Blue-Hour"
)

_TITLE_PATTERNS = (
    "{adj} {noun}",
    "Study for {noun}",
    "{noun}, Try {n}",
    "The {noun} That Would Not Sit Still",
    "{adj} {noun} No. {n}",
    "Notes Toward {noun}",
    "{noun} (Again)",
    "{noun} for My Mother",
)

_INTENTS = (
    "I wanted the {motif} to feel {quality}, like {simile}.",
    "An attempt to make the {motif} breathe without any drawn outline.",
    "I was trying to hold the {motif} {quality} while the colour did the moving.",
    "I wanted to see if the {motif} alone could carry the memory of {simile}.",
    "The plan was simple: {motif}, two colours, nothing else, and make it feel {quality}.",
    "I set out to draw {simile} using nothing but the {motif}.",
)

_QUALITIES = (
    "calm",
    "restless",
    "weightless",
    "inevitable",
    "hand-made",
    "quietly loud",
    "old",
    "warm",
)

_SIMILES = (
    "rain on a tin roof",
    "my grandmother's embroidery",
    "a city seen from a night bus",
    "the sound of a kettle",
    "a map folded too many times",
    "breathing while asleep",
    "the tiles of a public bath",
    "wind in a wheat field",
    "a radio between stations",
)

_FAILURE_DETAILS: dict[str, tuple[str, ...]] = {
    FailureType.COMPOSITION.value: (
        "The whole {motif} slid into one corner and left a dead half of the sheet.",
        "I placed the centre too low; the {motif} kept falling off the page.",
        "Too much empty space on one side, so the eye never settled.",
    ),
    FailureType.PROPORTION.value: (
        "The {motif} came out stretched, twice as tall as planned.",
        "Everything was the wrong size relative to everything else.",
        "I scaled the {motif} by eye and everything swelled out of proportion.",
    ),
    FailureType.PERSPECTIVE.value: (
        "The {motif} tilted away as if the sheet were falling backwards.",
        "The vanishing point wandered and the {motif} skewed.",
        "I tried a low viewpoint and the {motif} sheared apart.",
    ),
    FailureType.COLOUR.value: (
        "The colours turned muddy and the {motif} lost all contrast.",
        "I mixed the wrong blue and the whole piece went sour.",
        "The palette fought itself; nothing sat where it should.",
    ),
    FailureType.TECHNIQUE.value: (
        "I dragged the brush before it dried and smeared every line.",
        "My hand shook on the long strokes and the {motif} blurred.",
        "Overworked: I went back in too many times and it smudged.",
    ),
    FailureType.MATERIAL.value: (
        "The paper cracked under the wet layers and the {motif} broke up.",
        "Cheap ink flaked off in patches overnight.",
        "The ground was too thin; the surface split along the folds.",
    ),
    FailureType.CONCEPT.value: (
        "Halfway through it stopped being about the {motif} at all.",
        "The idea turned into a different picture I did not want.",
        "I lost what I meant and drew something else on top.",
    ),
    FailureType.ACCIDENT.value: (
        "A full jar of ink tipped over the middle of the sheet.",
        "The cat walked through it. I kept the blot.",
        "Rain came through the window and left a dark bloom.",
    ),
    FailureType.ABANDONED.value: (
        "I stopped halfway and never came back to it.",
        "Life got in the way; the {motif} stayed half drawn.",
        "I could not find the ending, so I left it open.",
    ),
    FailureType.OTHER.value: (
        "Something went off that I still cannot name; it doubled and ghosted.",
        "The scan added a second faint copy and I liked it less than I hoped.",
        "It was technically fine and completely dead.",
    ),
}

_DEFECT_SHORT: dict[str, str] = {
    FailureType.COMPOSITION.value: "everything slid into the corner",
    FailureType.PROPORTION.value: "the proportions stretched",
    FailureType.PERSPECTIVE.value: "the perspective tilted away",
    FailureType.COLOUR.value: "the colours went wrong",
    FailureType.TECHNIQUE.value: "the lines smeared",
    FailureType.MATERIAL.value: "the surface cracked and flaked",
    FailureType.CONCEPT.value: "it turned into a different picture",
    FailureType.ACCIDENT.value: "an ink blot landed on it",
    FailureType.ABANDONED.value: "left unfinished",
    FailureType.OTHER.value: "a ghost copy crept in",
}

_SOCIAL_CONTEXTS = (
    "Made on the kitchen table between home-schooling shifts.",
    "Made between night shifts at a hospital laundry.",
    "Made in a shared studio that closed the month after.",
    "Drawn on a phone during a two-hour commute.",
    "Made while caring for my father after his stroke.",
    "Made for a community print fair that was cancelled.",
    "Made in a weekly workshop at the neighbourhood refugee centre.",
    "Made in my first year of art school, when I still believed in rules.",
    "Made the winter I lost my job and had too much time.",
    "Made in the public library because my flat had no daylight.",
    "Made for a friend's wedding that was called off.",
    "Made during a residency with no internet and too much rain.",
)

_FAILURE_NOTES = (
    "I kept the failed sheet because it taught me {lesson}.",
    "Looking back, the failure was the only honest part: {lesson}.",
    "I almost threw it away. It is here because it showed me {lesson}.",
    "Every later piece starts from this mistake: {lesson}.",
    "I donate the failure more gladly than the final. It taught me {lesson}.",
)

_LESSONS = (
    "to stop before the paper does",
    "that empty space is a decision too",
    "to test the colours on a scrap first",
    "that the first idea is rarely the one",
    "to let the hand be slower than the eye",
    "that accidents can be kept",
    "to trust the sketch more than the plan",
    "that I draw better when I am not trying to impress",
)

_CAPTIONS: dict[str, tuple[str, ...]] = {
    StageRole.SKETCH.value: (
        "First pencil pass, just to find the {motif}.",
        "Loose sketch of the {motif}.",
        "Thumbnail on the back of an envelope.",
        "Light guide lines, nothing committed yet.",
    ),
    StageRole.ATTEMPT.value: (
        "Attempt {k}: blocking in the {motif}.",
        "Attempt {k}: first colour layer.",
        "Attempt {k}: working it up, not sure yet.",
    ),
    StageRole.FAILURE.value: (
        "Failure {k}: {defect}.",
        "This is where it went wrong: {defect}.",
        "Failure {k}. {defect_cap}.",
    ),
    StageRole.REVISION.value: (
        "Revision: fixing what failed, mostly.",
        "Revision: starting over with what I learned.",
        "Revision, almost there.",
    ),
    StageRole.FINAL.value: (
        "Final.",
        "Final version, signed.",
        "Finished, for now.",
    ),
}

_SEASONS = _words(
    "winter winter spring spring spring summer summer summer autumn autumn autumn winter"
)

_CULTURES: tuple[tuple[str, str], ...] = (
    ("andean", "south-america"),
    ("yoruba", "west-africa"),
    ("nordic", "northern-europe"),
    ("punjabi", "south-asia"),
    ("maori", "oceania"),
    ("catalan", "southern-europe"),
    ("hakka", "east-asia"),
    ("amazigh", "north-africa"),
    ("mexican", "central-america"),
    ("persian", "western-asia"),
    ("irish", "northern-europe"),
    ("korean", "east-asia"),
    ("swahili", "east-africa"),
    ("filipino", "south-east-asia"),
    ("polish", "eastern-europe"),
    ("caribbean", "caribbean"),
)

_FAMILY_GENRES: dict[str, tuple[str, ...]] = {
    "rings": ("op-art", "geometric-abstraction"),
    "stripes": ("hard-edge", "textile-pattern"),
    "spiral": ("ornament", "organic-abstraction"),
    "grid": ("minimalism", "tile-design"),
    "blobs": ("biomorphic", "organic-abstraction"),
    "triangles": ("geometric-abstraction", "folk-pattern"),
    "waves": ("textile-pattern", "landscape-abstraction"),
    "dots": ("pointillism", "printmaking"),
}

_MEDIUM_GENRES = ("ink-drawing", "watercolour", "digital-drawing", "gouache", "screen-print")

_FIRST_NAMES = _words(
    "Ana Kwame Ingrid Harpreet Aroha Jordi Mei Youssef Lucía Tomasz Amara Kenji Sofia "
    "Oluwaseun Priya Mateo Leila Nikolai Fatima Rangi Dagny Imani Pablo Noor Ewa "
    "Tariq Hana Siosaia Marta Declan Ji-woo Zainab"
)

_LAST_NAMES = _words(
    "Ruiz Mensah Lindqvist Kaur Ngata Puig Chen Haddad Quispe Nowak Okafor Tanaka "
    "Ferreira Adeyemi Iyer Morales Rahimi Volkov Benali Walker Berg Mwangi Santos "
    "Qureshi Kowalska Aziz Park Fifita Moreno Byrne Reyes Osei"
)

_PSEUDONYM_ADJECTIVES = _words(
    "Quiet Paper Rust Salt Late Crooked Small Borrowed Second Lantern Tidal Hollow "
    "Ember Velvet Northern Wandering"
)

_PSEUDONYM_NOUNS = _words(
    "Heron Moth Kiln Atlas Thimble Comet Loom Sparrow Quarry Orchard Ferry Lichen "
    "Anvil Wren Harbour Fig"
)

_COLOUR_NAMES = _words("red vermilion ochre olive green teal cyan azure blue indigo violet magenta")

# The digits have ten classes and the vocabulary ten emotions: a one-to-one conditioning label.
DIGIT_EMOTIONS: tuple[str, ...] = tuple(member.value for member in Emotion)

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

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


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slug_email(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return ".".join("".join(c for c in part if c.isalnum()) for part in folded.lower().split())


def _era(when: datetime, rng: np.random.Generator) -> str:
    season = _SEASONS[when.month - 1]
    year = when.year
    pattern = _pick(rng, ("{season} {year}", "the {season} of {year}", "{part} {year}"))
    part = "early" if when.month <= 4 else "mid" if when.month <= 8 else "late"
    return _capitalise(pattern.format(season=season, year=year, part=part))


def _label(
    style: _Style, failure_type: str, start: datetime, rng: np.random.Generator
) -> MuseumLabel:
    family = style.family
    motif = _pick(rng, _MOTIFS[family])
    title = _pick(rng, _TITLE_PATTERNS).format(
        adj=_pick(rng, _TITLE_ADJECTIVES),
        noun=_pick(rng, _TITLE_NOUNS[family]),
        n=int(rng.integers(2, 13)),
    )
    intent = _pick(rng, _INTENTS).format(
        motif=motif, quality=_pick(rng, _QUALITIES), simile=_pick(rng, _SIMILES)
    )
    detail = _pick(rng, _FAILURE_DETAILS[failure_type]).format(motif=motif)
    emotion = _pick(rng, [member.value for member in Emotion])
    note = _pick(rng, _FAILURE_NOTES).format(lesson=_pick(rng, _LESSONS))
    return MuseumLabel(
        title=title,
        creative_intent=_capitalise(intent),
        failure_type=failure_type,
        failure_detail=detail,
        emotion=emotion,
        era=_era(start, rng),
        social_context=_pick(rng, _SOCIAL_CONTEXTS),
        failure_note=note,
    )


def _caption(role: str, k: int, defect: str | None, motif: str, rng: np.random.Generator) -> str:
    short = _DEFECT_SHORT.get(defect or "", "it went wrong")
    text = _pick(rng, _CAPTIONS[role])
    return text.format(k=k, motif=motif, defect=short, defect_cap=_capitalise(short))


# --------------------------------------------------------------------------------------------
# Founding collection
# --------------------------------------------------------------------------------------------


def _roles(rng: np.random.Generator) -> tuple[tuple[str, ...], bool]:
    """A plausible process: sketch, attempts and failures, maybe a revision, then a final; an
    abandoned work ends on its last failure instead."""
    n = int(rng.integers(3, 7))
    abandoned = bool(rng.random() < 0.15)
    revision = not abandoned and n >= 4 and bool(rng.random() < 0.5)
    middle_count = n - 2 - (1 if revision else 0)
    if abandoned:
        middle_count = n - 2
    middle = [
        StageRole.FAILURE.value if rng.random() < 0.55 else StageRole.ATTEMPT.value
        for _ in range(middle_count)
    ]
    if not abandoned and StageRole.FAILURE.value not in middle:
        middle[-1] = StageRole.FAILURE.value
    roles = [StageRole.SKETCH.value, *middle]
    if revision:
        roles.append(StageRole.REVISION.value)
    roles.append(StageRole.FAILURE.value if abandoned else StageRole.FINAL.value)
    return tuple(roles), abandoned


def _consents(rng: np.random.Generator) -> tuple[str, ...]:
    if rng.random() < 0.1:
        return (Purpose.EXHIBIT.value,)
    granted = {Purpose.EXHIBIT, Purpose.TRAIN}
    if rng.random() < 0.55:
        granted.add(Purpose.COMMERCIAL)
    if rng.random() < 0.35:
        granted.add(Purpose.RESEARCH)
    return tuple(p.value for p in Purpose if p in granted)


def _donation(
    style: _Style,
    culture: tuple[str, str],
    start: datetime,
    size: int,
    rng: np.random.Generator,
) -> DonationDraft:
    motif = _make_motif(style, rng)
    roles, abandoned = _roles(rng)
    kinds = [t.value for t in FailureType if t not in (FailureType.ABANDONED, FailureType.OTHER)]
    if abandoned and rng.random() < 0.6:
        failure_type = FailureType.ABANDONED.value
    elif rng.random() < 0.05:
        failure_type = FailureType.OTHER.value
    else:
        failure_type = _pick(rng, kinds)
    label = _label(style, failure_type, start, rng)
    motif_word = _pick(rng, _MOTIFS[style.family])

    stages: list[StageCreate] = []
    seen: set[bytes] = set()
    when = start
    counts = {role: 0 for role in roles}
    for position, role in enumerate(roles):
        counts[role] += 1
        defect: str | None = None
        if role == StageRole.SKETCH.value:
            rgb = _sketch(style, motif, size, rng)
        elif role == StageRole.ATTEMPT.value:
            defect = _pick(rng, kinds)
            coverage = float(rng.uniform(0.55, 0.9))
            rgb = _render(style, motif, size, rng, defect, float(rng.uniform(0.2, 0.45)), coverage)
        elif role == StageRole.FAILURE.value:
            # An abandoned work fails in other ways first; only its last sheet is left unfinished.
            last = position == len(roles) - 1
            abandoned_early = failure_type == FailureType.ABANDONED.value and not last
            defect = _pick(rng, kinds) if abandoned_early else failure_type
            rgb = _render(style, motif, size, rng, defect, float(rng.uniform(0.7, 1.0)))
        elif role == StageRole.REVISION.value:
            defect = failure_type if failure_type != FailureType.ABANDONED.value else None
            rgb = _render(style, motif, size, rng, defect, float(rng.uniform(0.1, 0.2)))
        else:
            rgb = _render(style, motif, size, rng, None, 0.0)
        image = _distinct(_png(rgb, rng), seen)
        caption = _caption(role, counts[role], defect, motif_word, rng)
        stages.append(StageCreate(role=role, image=image, caption=caption, created_at=when))
        when += timedelta(minutes=int(rng.integers(120, 21 * 24 * 60)))

    genres = [_FAMILY_GENRES[style.family][int(rng.integers(2))]]
    if rng.random() < 0.6:
        genres.append(_pick(rng, _MEDIUM_GENRES))
    tags = DonationTags(culture=(culture[0],), region=(culture[1],), genre=tuple(genres))
    return DonationDraft(
        stages=tuple(stages),
        label=label,
        tags=tags,
        consents=_consents(rng),
        style=style.name,
    )


def _unique(make: Callable[[], str], taken: set[str]) -> str:
    for _ in range(1000):
        candidate = make()
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise RuntimeError("name tables exhausted; add more names")  # pragma: no cover


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")


def founding_collection(
    n_artists: int = 36, donations_per_artist: int = 2, size: int = 32, seed: int = 0
) -> list[ArtistDraft]:
    """The demo founding collection: deterministic, so the same seed gives byte-identical PNGs.

    Artist `i` draws in family `FAMILIES[i % 8]`; members of a family differ in palette, angle,
    rhythm and stroke, so a simple classifier can tell their finals apart.
    """
    _check_seed(seed)
    if n_artists < 0 or donations_per_artist < 0:
        raise ValueError("counts must be non-negative")
    if size < 8:
        raise ValueError("size must be at least 8 pixels")
    rng = np.random.default_rng([seed, 0])
    family_offsets = rng.random((len(FAMILIES), 6))
    anonymous_count = round(0.25 * n_artists)
    anonymous = set(rng.permutation(n_artists)[:anonymous_count].tolist())
    pseudonyms: set[str] = set()
    legal_names: set[str] = set()
    contacts: set[str] = set()
    artists: list[ArtistDraft] = []
    span = int((_LAST_START - _EPOCH).total_seconds() // 60)
    for index in range(n_artists):
        style = _make_style(index, family_offsets, np.random.default_rng([seed, 3, index]))
        pseudonym = _unique(
            lambda: f"{_pick(rng, _PSEUDONYM_ADJECTIVES)} {_pick(rng, _PSEUDONYM_NOUNS)}",
            pseudonyms,
        )
        legal = _unique(
            lambda: f"{_pick(rng, _FIRST_NAMES)} {_pick(rng, _LAST_NAMES)}", legal_names
        )
        base = _slug_email(legal)
        contact = f"{base}@example.org"
        suffix = 2
        while contact in contacts:
            contact = f"{base}{suffix}@example.org"
            suffix += 1
        contacts.add(contact)
        artist = ArtistCreate(
            pseudonym=pseudonym,
            legal_name=legal,
            contact=contact,
            anonymous=index in anonymous,
        )
        culture = _CULTURES[int(rng.integers(len(_CULTURES)))]
        starts = sorted(int(m) for m in rng.integers(0, span, size=donations_per_artist))
        donations = tuple(
            _donation(
                style,
                culture,
                _EPOCH + timedelta(minutes=start),
                size,
                np.random.default_rng([seed, 1, index, number]),
            )
            for number, start in enumerate(starts)
        )
        artists.append(ArtistDraft(artist=artist, style=style.name, donations=donations))
    return artists


# --------------------------------------------------------------------------------------------
# Digits collection
# --------------------------------------------------------------------------------------------


def _digit_label(digit: int, number: int) -> MuseumLabel:
    word = _DIGIT_WORDS[digit]
    return MuseumLabel(
        title=f"Handwritten {word.capitalize()}, Sheet {number}",
        creative_intent=f"A {word} ({digit}), written once in a box on a preprinted form.",
        failure_type=FailureType.OTHER.value,
        failure_detail=f"No failure recorded: this is the finished {word} as written.",
        emotion=DIGIT_EMOTIONS[digit],
        era="Late 1990s",
        social_context=(
            "Written on a preprinted form for a handwriting survey; the scans were later "
            "published as the optical digits data set shipped with scikit-learn."
        ),
        failure_note=f"Kept as a clean example of a {word}; the hand's own failures are lost.",
    )


def digits_collection(
    classes: Sequence[int] | None = None, per_artist: int = 20, size: int = 16, seed: int = 0
) -> list[ArtistDraft]:
    """scikit-learn's bundled digits (8×8, values 0..16) as single-stage finals, for benchmarks.

    Each made-up "digit artist" writes one class only, `per_artist` donations each (the last
    artist of a class may have fewer), so artist, class and emotion all agree. The seed shuffles
    which scans go to which artist. `DonationDraft.digit` holds the class.
    """
    from sklearn.datasets import load_digits  # local: scikit-learn is slow to import

    _check_seed(seed)
    if per_artist < 1:
        raise ValueError("per_artist must be at least 1")
    if size < 1:
        raise ValueError("size must be positive")
    wanted = tuple(range(10)) if classes is None else tuple(dict.fromkeys(int(c) for c in classes))
    if any(not 0 <= c <= 9 for c in wanted):
        raise ValueError(f"digit classes must lie in 0..9, got {tuple(classes or ())}")
    bunch: Any = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    targets = np.asarray(bunch.target, dtype=np.int64)
    rng = np.random.default_rng([seed, 2])
    taken_names: set[str] = set()
    artists: list[ArtistDraft] = []
    moment = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)
    for digit in wanted:
        indices = np.flatnonzero(targets == digit)
        indices = indices[rng.permutation(indices.size)]
        for number, begin in enumerate(range(0, indices.size, per_artist)):
            legal = _unique(
                lambda: f"{_pick(rng, _FIRST_NAMES)} {_pick(rng, _LAST_NAMES)}", taken_names
            )
            contact = f"{_slug_email(legal)}.digits{digit}{number}@example.org"
            artist = ArtistCreate(
                pseudonym=f"Digit Hand {digit}-{number + 1:02d}",
                legal_name=legal,
                contact=contact,
                anonymous=False,
            )
            donations: list[DonationDraft] = []
            for sheet, index in enumerate(indices[begin : begin + per_artist].tolist(), start=1):
                grey = np.rint(images[index] * (255.0 / 16.0)).astype(np.uint8)
                img = Image.fromarray(grey).resize((size, size), Image.Resampling.NEAREST)
                buffer = io.BytesIO()
                img.save(buffer, format="PNG")
                moment += timedelta(minutes=37)
                stage = StageCreate(
                    role=StageRole.FINAL.value,
                    image=buffer.getvalue(),
                    caption=f"Scan of a handwritten {_DIGIT_WORDS[digit]}.",
                    created_at=moment,
                )
                donations.append(
                    DonationDraft(
                        stages=(stage,),
                        label=_digit_label(digit, sheet),
                        tags=DonationTags(
                            culture=("hindu-arabic-numerals",),
                            genre=("handwriting", "numerals"),
                        ),
                        consents=(
                            Purpose.EXHIBIT.value,
                            Purpose.TRAIN.value,
                            Purpose.RESEARCH.value,
                        ),
                        style=f"digit-{digit}",
                        digit=digit,
                    )
                )
            artists.append(
                ArtistDraft(artist=artist, style=f"digit-{digit}", donations=tuple(donations))
            )
    return artists
