"""Proposals: alternative next stages of a donated or uploaded stage, each a recorded generation.

From a donated stage (whose donation's `exhibit` consent holds: its image is continued in
public) or an uploaded image with its labels, the deployed continuation model proposes the next
stage `count` times with different seeds, or rolls each proposal out stage by stage until a
final. The next role follows the process order (`next_role`) unless the caller names one.
Every proposal is recorded like any generation, with its parent: the donated stage, the
uploaded image's SHA-256, or the proposal before it. Everything is checked before anything is
recorded; a retried job finds its proposals by job id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import torch

from generation.model import images_to_tensor
from generation.process.model import continuation_class, next_role
from generation.process.request import MAX_COUNT, ContinueRequest
from generation.process.service import pipeline_of
from generation.sampling import MAX_SEED
from ledger.application import MuseumLedger
from ledger.domain.model import CONTINUATION, Generation
from ledger.errors import InvalidInput
from ledger.images import inspect_image
from ledger.model_reads import ModelReads
from ledger.model_records import ModelRecords
from ledger.model_views import ProposalsRead
from ledger.process_records import ProcessRecords, generation_parent, stage_parent, upload_parent
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole, parse

__all__ = ["ContinueRequest", "propose"]


@dataclass(frozen=True)
class _Start:
    previous: torch.Tensor
    role: str
    emotion: str
    failure_type: str
    parent: dict[str, Any]


def _start(ledger: MuseumLedger, request: ContinueRequest, size_of: Any) -> _Start:
    if request.donation_id is not None and request.stage_index is not None:
        donation = ProcessRecords(ledger).stage(
            request.donation_id, request.stage_index, Purpose.EXHIBIT
        )
        image = ledger.stage_image(donation.id, request.stage_index)
        return _Start(
            images_to_tensor([image], size_of),
            donation.stages[request.stage_index].role,
            donation.emotion,
            donation.failure_type,
            stage_parent(donation, request.stage_index),
        )
    assert request.image is not None
    inspect_image(request.image, "the uploaded image")  # not an image, too large: refused
    return _Start(
        images_to_tensor([request.image], size_of),
        parse(StageRole, str(request.role), "stage role"),
        parse(Emotion, str(request.emotion), "emotion"),
        parse(FailureType, str(request.failure_type), "failure type"),
        upload_parent(hashlib.sha256(request.image).hexdigest(), ""),
    )


def _roles(start_role: str, request: ContinueRequest) -> list[str]:
    """The roles of the stages to propose, one per step of a roll-out."""
    if request.next_role is not None:
        return [parse(StageRole, request.next_role, "next role")]
    if start_role == StageRole.FINAL:
        raise InvalidInput("the stage is already a final: nothing follows it in a process")
    roles: list[str] = []
    role: str | None = start_role
    while (role := next_role(role)) is not None:  # type: ignore[arg-type]
        roles.append(role)
        if not request.to_final:
            break
    return roles


def propose(ledger: MuseumLedger, *, job_id: str, request: ContinueRequest) -> ProposalsRead:
    """Propose, record and describe the next stages (or whole series) of one parent."""
    request.check()
    records = ModelRecords(ledger)
    # 1. The deployed (or named) continuation model, the start and its roles: all refusals here.
    run = records.model_version(request.version, variant=CONTINUATION)
    config, pipeline = pipeline_of(ledger, run)
    start = _start(ledger, request, config.model)
    roles = _roles(start.role, request)
    if request.image is not None:  # kept, so that the proposals' attribution can read it
        blob_id, _ = ledger.blobs.put(request.image)
        start = _Start(
            start.previous,
            start.role,
            start.emotion,
            start.failure_type,
            upload_parent(start.parent["sha256"], blob_id),
        )
    series: list[list[Generation]] = [[] for _ in range(request.count)]
    previous = start.previous.expand(request.count, -1, -1, -1)
    for step, role in enumerate(roles):
        # 2. One sampling call per step, each proposal from its own seed.
        seeds = [(request.seed + i + step * MAX_COUNT) % MAX_SEED for i in range(request.count)]
        label = continuation_class(role, start.emotion, start.failure_type)
        output = pipeline(previous, [label] * request.count, seeds, request.steps)
        # 3. Record each proposal with its parent (the start, or the proposal before it).
        for i, png in enumerate(output.png):
            parent = start.parent if step == 0 else generation_parent(series[i][-1])
            series[i].append(
                records.record_generation(
                    job_id=f"{job_id}:{i}:{step}",
                    run=run,
                    seed=seeds[i],
                    steps=request.steps,
                    role=role,
                    emotion=start.emotion,
                    failure_type=start.failure_type,
                    png=png,
                    parent=parent,
                )
            )
        previous = output.samples
    reads = ModelReads(ledger)
    first = reads.generation(series[0][0].id)
    assert first.parent is not None
    return ProposalsRead(
        parent=first.parent,
        model_version=str(run.id),
        series=[[reads.generation(g.id) for g in proposals] for proposals in series],
    )
