"""The donate page's form: read into the API's `DonationManifest`, echoed back when refused.

Field names: the label's (`title`, `creative_intent`, `failure_type`, `emotion`,
`failure_note`, `failure_detail`, `era`, `social_context`), `culture` / `region` / `genre` as
comma-separated slugs, a `consent` checkbox per purpose, `affirmed` for the rights
attestation, `timezone` (an IANA name) for the stage times, and per stage i `stage-i-role`,
`stage-i-made` (a `datetime-local` value), `stage-i-caption` and the file `stage-i-image`. A
stage row left wholly blank is skipped; the rest go, in order, through the API's upload path
(`api.http.donations.upload.donation_create`): the same limits and checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from litestar.datastructures import FormMultiDict, UploadFile

from api.http.donations.schemas import DonationManifest
from ledger.domain.donation import MAX_STAGES
from ledger.errors import InvalidInput
from ledger.vocabulary import Purpose

LABEL_FIELDS = (
    "title",
    "creative_intent",
    "failure_type",
    "emotion",
    "failure_note",
    "failure_detail",
    "era",
    "social_context",
)
TAG_FIELDS = ("culture", "region", "genre")
DEFAULT_STAGES = 3
MAX_ZONE = 64


@dataclass
class StageFields:
    role: str = ""
    made: str = ""
    caption: str = ""
    file: UploadFile | None = None

    @property
    def blank(self) -> bool:
        return not (self.role or self.made or self.caption or _has_bytes(self.file))


@dataclass
class DonateForm:
    """What the artist typed (files aside: a browser never refills a file input)."""

    label: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LABEL_FIELDS, ""))
    tags: dict[str, str] = field(default_factory=lambda: dict.fromkeys(TAG_FIELDS, ""))
    consents: list[str] = field(default_factory=lambda: [Purpose.EXHIBIT.value])
    affirmed: bool = False
    timezone: str = "UTC"
    stages: list[StageFields] = field(
        default_factory=lambda: [StageFields() for _ in range(DEFAULT_STAGES)]
    )

    @classmethod
    def blank_with(cls, stages: int) -> DonateForm:
        return cls(stages=[StageFields() for _ in range(max(1, min(stages, MAX_STAGES)))])

    @classmethod
    def read(cls, form: FormMultiDict) -> DonateForm:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value if isinstance(value, str) else ""

        rows = []
        for index in range(MAX_STAGES):
            prefix = f"stage-{index}-"
            if not any(f"{prefix}{part}" in form for part in ("role", "made", "caption", "image")):
                continue
            upload = form.get(f"{prefix}image")
            rows.append(
                StageFields(
                    role=text(f"{prefix}role"),
                    made=text(f"{prefix}made"),
                    caption=text(f"{prefix}caption"),
                    file=upload if isinstance(upload, UploadFile) else None,
                )
            )
        return cls(
            label={name: text(name) for name in LABEL_FIELDS},
            tags={name: text(name) for name in TAG_FIELDS},
            consents=[v for v in form.getall("consent", []) if isinstance(v, str)],
            affirmed=text("affirmed") == "yes",
            timezone=text("timezone").strip() or "UTC",
            stages=rows or [StageFields()],
        )

    def filled(self) -> list[StageFields]:
        return [stage for stage in self.stages if not stage.blank]

    def manifest(self) -> DonationManifest:
        """The form as the API's manifest; a refusal names the field or stage."""
        zone = _zone(self.timezone)
        filled = self.filled()
        if not filled:
            raise InvalidInput("add at least one stage: its role, when it was made, its image")
        stages = []
        for number, stage in enumerate(filled, start=1):
            if not stage.role:
                raise InvalidInput(f"stage {number}: choose its role (sketch, attempt, …)")
            if not _has_bytes(stage.file):
                raise InvalidInput(f"stage {number}: choose its image (PNG, JPEG or WebP)")
            stages.append(
                {
                    "role": stage.role,
                    "created_at": _moment(stage.made, zone, number),
                    "caption": stage.caption,
                }
            )
        data: dict[str, Any] = {
            "label": self.label,
            "stages": stages,
            "attestation": {"affirmed": self.affirmed},
            "tags": {name: _slugs(value) for name, value in self.tags.items()},
            "consents": self.consents,
        }
        try:
            return msgspec.convert(data, DonationManifest)
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"the form is not a donation the museum can take: {exc}") from None

    def files(self) -> list[UploadFile]:
        return [stage.file for stage in self.filled() if stage.file is not None]


def _has_bytes(upload: UploadFile | None) -> bool:
    if upload is None or not upload.filename:
        return False
    spooled = upload.file
    spooled.seek(0, 2)
    size = spooled.tell()
    spooled.seek(0)
    return size > 0


def _zone(name: str) -> ZoneInfo:
    if len(name) > MAX_ZONE:
        raise InvalidInput("time zone: at most 64 characters, e.g. Europe/Lisbon or UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"time zone {name!r} is not one the museum knows; use a name such as "
            "Europe/Lisbon, America/Mexico_City or UTC"
        ) from None


def _moment(value: str, zone: ZoneInfo, number: int) -> str:
    if not value:
        raise InvalidInput(f"stage {number}: say when it was made")
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"stage {number}: {value[:40]!r} is not a date and time (YYYY-MM-DDTHH:MM)"
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.isoformat()


def _slugs(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def close(form: DonateForm) -> None:
    for stage in form.stages:
        if stage.file is not None:
            stage.file.file.close()
