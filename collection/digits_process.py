"""scikit-learn's bundled digits donated as whole processes (sketch, failures, final), for
benchmarks that need a process on real data.

The final stage of every donation is the real scan (as `digits_collection` donates it); the
earlier stages are drawn from it by fixed, seeded operations, one per failure type, so a label's
failure type says what went wrong on its failure sheet:

- sketch: a faint, blurred under-drawing (the scan at a quarter of its resolution),
- composition: the digit written off-centre, pushed against an edge of the box,
- proportion: squashed flat or thin,
- technique: broken strokes (a band of the sheet left blank),
- accident: an ink blot smudged across it,
- material: the paper's grain coming through (speckle),

and an attempt, in about half the donations, shows a milder defect of another kind.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from PIL import Image

from collection.drafts import ArtistDraft, DonationDraft
from collection.founding import _pick, _slug_email, _unique
from collection.words import _DIGIT_WORDS, _FIRST_NAMES, _LAST_NAMES, DIGIT_EMOTIONS
from ledger.schemas import ArtistCreate, DonationTags, MuseumLabel, StageCreate
from ledger.validation import seed as check_seed
from ledger.vocabulary import FailureType, Purpose, StageRole

__all__ = ["DIGIT_FAILURES", "digits_process_collection"]

Sheet = np.ndarray  # (size, size) float64 in 0..1, ink bright


def _shift(sheet: Sheet, rng: np.random.Generator, strength: float) -> Sheet:
    size = sheet.shape[0]
    reach = max(1, round(strength * size / 4))
    dy, dx = (int(v) for v in rng.choice([-reach, reach], size=2))
    out = np.zeros_like(sheet)
    src = sheet[max(0, -dy) : size - max(0, dy), max(0, -dx) : size - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def _squash(sheet: Sheet, rng: np.random.Generator, strength: float) -> Sheet:
    size = sheet.shape[0]
    short = max(2, round(size * (1.0 - 0.45 * strength)))
    flat = bool(rng.random() < 0.5)
    shape = (size, short) if flat else (short, size)  # PIL: (width, height)
    img = Image.fromarray((sheet * 255).astype(np.uint8)).resize(shape, Image.Resampling.BILINEAR)
    small = np.asarray(img, dtype=np.float64) / 255.0
    out = np.zeros_like(sheet)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return out


def _break(sheet: Sheet, rng: np.random.Generator, strength: float) -> Sheet:
    size = sheet.shape[0]
    width = max(1, round(strength * size / 4))
    start = int(rng.integers(size // 4, 3 * size // 4 - width + 1))
    out = sheet.copy()
    if rng.random() < 0.5:
        out[start : start + width, :] = 0.0
    else:
        out[:, start : start + width] = 0.0
    return out


def _blur(sheet: Sheet, passes: int) -> Sheet:
    out: Sheet = sheet
    for _ in range(passes):
        padded = np.pad(out, 1, mode="edge")
        shifted = [
            padded[1 + dy : 1 + dy + out.shape[0], 1 + dx : 1 + dx + out.shape[1]]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
        out = np.stack(shifted).mean(axis=0)
    return out


def _blot(sheet: Sheet, rng: np.random.Generator, strength: float) -> Sheet:
    size = sheet.shape[0]
    cy, cx = (float(v) for v in rng.uniform(0.25 * size, 0.75 * size, size=2))
    radius = size * (0.12 + 0.15 * strength)
    yy, xx = np.mgrid[0:size, 0:size]
    ink = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2)))
    blotted: Sheet = np.clip(np.maximum(_blur(sheet, 1), ink * (0.6 + 0.4 * strength)), 0.0, 1.0)
    return blotted


def _grain(sheet: Sheet, rng: np.random.Generator, strength: float) -> Sheet:
    speckle = rng.random(sheet.shape) < 0.12 + 0.2 * strength
    grained: Sheet = np.clip(sheet * (1.0 - 0.5 * strength) + speckle * 0.7, 0.0, 1.0)
    return grained


DIGIT_FAILURES: dict[str, Callable[[Sheet, np.random.Generator, float], Sheet]] = {
    FailureType.COMPOSITION.value: _shift,
    FailureType.PROPORTION.value: _squash,
    FailureType.TECHNIQUE.value: _break,
    FailureType.ACCIDENT.value: _blot,
    FailureType.MATERIAL.value: _grain,
}

_DETAILS = {
    FailureType.COMPOSITION.value: "The {word} ran against the edge of its box.",
    FailureType.PROPORTION.value: "The {word} came out squashed, too flat or too thin.",
    FailureType.TECHNIQUE.value: "The pen skipped: the strokes of the {word} are broken.",
    FailureType.ACCIDENT.value: "An ink blot smudged across the {word}.",
    FailureType.MATERIAL.value: "The paper's grain came through and speckled the {word}.",
}


def _sketch(sheet: Sheet) -> Sheet:
    size = sheet.shape[0]
    quarter = max(1, size // 4)
    img = Image.fromarray((sheet * 255).astype(np.uint8))
    rough = img.resize((quarter, quarter), Image.Resampling.BOX).resize(
        (size, size), Image.Resampling.BILINEAR
    )
    return np.asarray(rough, dtype=np.float64) / 255.0 * 0.55


def _png(sheet: Sheet) -> bytes:
    img = Image.fromarray(np.rint(np.clip(sheet, 0.0, 1.0) * 255).astype(np.uint8))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def _label(digit: int, number: int, failure_type: str) -> MuseumLabel:
    word = _DIGIT_WORDS[digit]
    return MuseumLabel(
        title=f"Handwritten {word.capitalize()}, Process {number}",
        creative_intent=f"A {word} ({digit}), written in a box on a preprinted form.",
        failure_type=failure_type,
        failure_detail=_DETAILS[failure_type].format(word=word),
        emotion=DIGIT_EMOTIONS[digit],
        era="Late 1990s",
        social_context=(
            "Written on a preprinted form for a handwriting survey; the scans were later "
            "published as the optical digits data set shipped with scikit-learn."
        ),
        failure_note=f"Wrote the {word} again on a fresh sheet, slower.",
    )


def _process(
    scan: Sheet, digit: int, number: int, moment: datetime, rng: np.random.Generator
) -> DonationDraft:
    kinds = list(DIGIT_FAILURES)
    failure_type = _pick(rng, kinds)
    sheets: list[tuple[str, Sheet]] = [(StageRole.SKETCH.value, _sketch(scan))]
    if rng.random() < 0.5:
        other = _pick(rng, [k for k in kinds if k != failure_type])
        sheets.append((StageRole.ATTEMPT.value, DIGIT_FAILURES[other](scan, rng, 0.4)))
    strength = float(rng.uniform(0.7, 1.0))
    sheets.append((StageRole.FAILURE.value, DIGIT_FAILURES[failure_type](scan, rng, strength)))
    sheets.append((StageRole.FINAL.value, scan))
    stages = []
    for role, sheet in sheets:
        moment += timedelta(minutes=11)
        caption = f"{role.capitalize()} of a handwritten {_DIGIT_WORDS[digit]}."
        stages.append(StageCreate(role=role, image=_png(sheet), caption=caption, created_at=moment))
    return DonationDraft(
        stages=tuple(stages),
        label=_label(digit, number, failure_type),
        tags=DonationTags(culture=("hindu-arabic-numerals",), genre=("handwriting", "numerals")),
        consents=(Purpose.EXHIBIT.value, Purpose.TRAIN.value, Purpose.RESEARCH.value),
        style=f"digit-{digit}",
        digit=digit,
    )


def digits_process_collection(
    scans: Sequence[int] | None = None, per_artist: int = 20, size: int = 16, seed: int = 0
) -> list[ArtistDraft]:
    """The digits at `scans` (indices into scikit-learn's 1,797; all when None) as process
    donations, `per_artist` consecutive ones per made-up "digit hand" of one class. The seed
    draws the failure type and the defects of each donation (`DonationDraft.digit` holds the
    class, the label's failure type what went wrong)."""
    from sklearn.datasets import load_digits  # local: scikit-learn is slow to import

    check_seed(seed)
    if per_artist < 1 or size < 8:
        raise ValueError("per_artist must be at least 1 and size at least 8")
    bunch: Any = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    targets = np.asarray(bunch.target, dtype=np.int64)
    chosen = list(range(len(targets))) if scans is None else [int(i) for i in scans]
    if any(not 0 <= i < len(targets) for i in chosen):
        raise ValueError(f"scan indices must lie in 0..{len(targets) - 1}")
    taken: set[str] = set()
    artists: list[ArtistDraft] = []
    moment = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)
    names = np.random.default_rng([seed, 40])
    for digit in range(10):
        mine = [i for i in chosen if targets[i] == digit]
        for number, begin in enumerate(range(0, len(mine), per_artist)):
            legal = _unique(
                lambda: f"{_pick(names, _FIRST_NAMES)} {_pick(names, _LAST_NAMES)}", taken
            )
            donations = []
            for index in mine[begin : begin + per_artist]:
                grey = Image.fromarray(np.rint(images[index] * 255).astype(np.uint8))
                scan = np.asarray(grey.resize((size, size), Image.Resampling.NEAREST)) / 255.0
                rng = np.random.default_rng([seed, 41, index])
                donations.append(_process(scan, digit, index, moment, rng))
                moment += timedelta(hours=3)
            artist = ArtistCreate(
                pseudonym=f"Digit Process Hand {digit}-{number + 1:02d}",
                legal_name=legal,
                contact=f"{_slug_email(legal)}.process{digit}{number}@example.org",
                anonymous=False,
            )
            artists.append(
                ArtistDraft(artist=artist, style=f"digit-{digit}", donations=tuple(donations))
            )
    return artists
