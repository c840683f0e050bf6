"""scikit-learn's bundled handwritten digits donated as single-stage finals, for benchmarks."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from PIL import Image

from collection.drafts import ArtistDraft, DonationDraft
from collection.founding import _pick, _slug_email, _unique
from collection.words import _DIGIT_WORDS, _FIRST_NAMES, _LAST_NAMES, DIGIT_EMOTIONS
from ledger.schemas import (
    ArtistCreate,
    DonationTags,
    MuseumLabel,
    StageCreate,
)
from ledger.validation import seed as check_seed
from ledger.vocabulary import FailureType, Purpose, StageRole

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

    check_seed(seed)
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
