"""The museum's controlled vocabularies. Free text lives beside them, never instead of them."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """What a donor may allow their donation to be used for."""

    EXHIBIT = "exhibit"
    TRAIN = "train"
    COMMERCIAL = "commercial"
    RESEARCH = "research"


class StageRole(StrEnum):
    """Where a stage sits in the process of a work."""

    SKETCH = "sketch"
    ATTEMPT = "attempt"
    FAILURE = "failure"
    REVISION = "revision"
    FINAL = "final"


class FailureType(StrEnum):
    """Why an attempt failed, as a curator would file it."""

    COMPOSITION = "composition"
    PROPORTION = "proportion"
    PERSPECTIVE = "perspective"
    COLOUR = "colour"
    TECHNIQUE = "technique"
    MATERIAL = "material"
    CONCEPT = "concept"
    ACCIDENT = "accident"
    ABANDONED = "abandoned"
    OTHER = "other"


class Emotion(StrEnum):
    """The feeling the artist names for the process; also a conditioning label of the model."""

    JOY = "joy"
    FRUSTRATION = "frustration"
    DOUBT = "doubt"
    CURIOSITY = "curiosity"
    CALM = "calm"
    ANGER = "anger"
    GRIEF = "grief"
    PRIDE = "pride"
    SURPRISE = "surprise"
    FEAR = "fear"


def parse(enum: type[StrEnum], value: str, what: str) -> str:
    """Return the canonical value or raise an error that lists what is allowed."""
    from ledger.errors import UnknownVocabulary

    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise UnknownVocabulary(f"unknown {what} {value!r}; expected one of: {allowed}") from None
