"""The founding collection: made-up artists whose donations are whole processes with labels."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np

from collection.drafts import ArtistDraft, DonationDraft
from collection.renderer import (
    _EPOCH,
    _LAST_START,
    _distinct,
    _make_motif,
    _make_style,
    _png,
    _render,
    _sketch,
    _Style,
)
from collection.words import (
    _CAPTIONS,
    _CULTURES,
    _DEFECT_SHORT,
    _FAILURE_DETAILS,
    _FAILURE_NOTES,
    _FAMILY_GENRES,
    _FIRST_NAMES,
    _INTENTS,
    _LAST_NAMES,
    _LESSONS,
    _MEDIUM_GENRES,
    _MOTIFS,
    _PSEUDONYM_ADJECTIVES,
    _PSEUDONYM_NOUNS,
    _QUALITIES,
    _SEASONS,
    _SIMILES,
    _SOCIAL_CONTEXTS,
    _TITLE_ADJECTIVES,
    _TITLE_NOUNS,
    _TITLE_PATTERNS,
    FAMILIES,
)
from ledger.schemas import (
    ArtistCreate,
    DonationTags,
    MuseumLabel,
    StageCreate,
)
from ledger.validation import seed as check_seed
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole

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


def founding_collection(
    n_artists: int = 36, donations_per_artist: int = 2, size: int = 32, seed: int = 0
) -> list[ArtistDraft]:
    """The demo founding collection: deterministic, so the same seed gives byte-identical PNGs.

    Artist `i` draws in family `FAMILIES[i % 8]`; members of a family differ in palette, angle,
    rhythm and stroke, so a simple classifier can tell their finals apart.
    """
    check_seed(seed)
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
