"""The claims of an erasure certificate, each against the proven events that back it.

`ledger.certificate_check` has already checked that every event is in the log under the signed
head; here each claim of the document is held against those events' stored state: the request
and the key's destruction are the artist's, each donation's stages and fingerprints are as
donated, each retraining run did what the document says, and the model version's recorded
training set holds none of the erased fingerprints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.certificate_format import CertificateDocument, RunPart
from ledger.domain.artist import ERASURE_DEADLINE
from ledger.domain.model import ModelRegistry
from ledger.errors import ProofError
from ledger.shards import shard_of


@dataclass(frozen=True)
class Fact:
    """One proven event: what it shows, whose it is, and its state as plain JSON."""

    shows: str
    name: str  # the event class, e.g. "Artist.KeyShredded"
    originator: UUID
    version: int
    notification_id: int
    state: dict[str, Any]

    def field(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.state.get(key)
        if not isinstance(value, kind):
            raise ProofError(f"event {self.notification_id} ({self.shows}) holds no valid {key}")
        return value


def _id(text: object) -> str | None:
    """An id as canonical UUID text (whatever its spelling), None for none."""
    if text is None:
        return None
    try:
        return str(UUID(str(text)))
    except ValueError:
        raise ProofError(f"{text!r} is not an id") from None


def _moment(text: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ProofError(f"{what} is not a time: {text!r}") from None


class Claims:
    """Each claim of the certificate against the events it carries."""

    def __init__(self, cert: CertificateDocument, facts: list[Fact]) -> None:
        self.cert = cert
        self.facts = facts
        self.artist = UUID(cert.artist_id)
        self.erased: set[str] = {item.fingerprint.lower() for item in cert.items}

    def _all(self, name: str, originator: UUID) -> list[Fact]:
        return [f for f in self.facts if f.name == name and f.originator == originator]

    def _one(self, name: str, originator: UUID, whose: str) -> Fact:
        found = self._all(name, originator)
        if not found:
            raise ProofError(
                f"missing proof: the certificate carries no {name.partition('.')[2]} event "
                f"of {whose}"
            )
        return max(found, key=lambda fact: fact.version)

    def check(self) -> None:
        self._request()
        self._donations()
        if [_id(r.run_id) for r in self.cert.retraining] != list(
            map(_id, self.cert.retraining_runs)
        ):
            raise ProofError("retraining_runs does not list the runs the retraining describes")
        for run in self.cert.retraining:
            self._run(run)
        self._model()
        self._continuation()

    def _request(self) -> None:
        whose = f"artist {self.artist}"
        requested = self._one("Artist.ErasureRequested", self.artist, whose)
        shredded = self._one("Artist.KeyShredded", self.artist, whose)
        if not self.cert.key_shredded:
            raise ProofError("the certificate does not say the artist's key was destroyed")
        if shredded.version < requested.version:
            raise ProofError("the key's destruction is recorded before the erasure request")
        asked = _moment(requested.field("timestamp", str), "the request's timestamp")
        if _moment(self.cert.requested_at, "requested_at") != asked:
            raise ProofError(
                f"requested_at is not the time of the ErasureRequested event ({asked.isoformat()})"
            )
        if _moment(self.cert.deadline, "deadline") != asked + ERASURE_DEADLINE:
            raise ProofError(f"the deadline is not {ERASURE_DEADLINE.days} days after the request")

    def _donations(self) -> None:
        listed: dict[UUID, dict[int, str]] = {}
        for donation_id in self.cert.donations_withdrawn:
            if UUID(donation_id) in listed:
                raise ProofError(f"donation {donation_id} is listed twice")
            listed[UUID(donation_id)] = {}
        for item in self.cert.items:
            donation, index = UUID(item.donation_id), item.stage_index
            if donation not in listed:
                raise ProofError(f"item {item.item_id} belongs to no withdrawn donation")
            if item.item_id != f"{item.donation_id}:{index}" or index in listed[donation]:
                raise ProofError(f"item {item.item_id} is not stage {index} of its donation once")
            listed[donation][index] = item.fingerprint.lower()
        for donation, stages in listed.items():
            whose = f"donation {donation}"
            self._one("Donation.DonationWithdrawn", donation, whose)
            made = self._one("Donation.DonationMade", donation, whose)
            if made.field("artist_id", str) != str(self.artist):
                raise ProofError(f"donation {donation} is not the artist's (its DonationMade says)")
            recorded: dict[int, str] = {}
            for stage in made.field("stages", list):
                if not isinstance(stage, dict) or not isinstance(stage.get("index"), int):
                    raise ProofError(f"the DonationMade event of {whose} holds a malformed stage")
                recorded[stage["index"]] = str(stage.get("fingerprint", "")).lower()
            for index in sorted(recorded.keys() | stages.keys()):
                if index not in stages:
                    raise ProofError(f"stage {index} of {whose} is missing from the items")
                if index not in recorded:
                    raise ProofError(f"item {donation}:{index} is not a stage of {whose}")
                if stages[index] != recorded[index]:
                    raise ProofError(
                        f"the fingerprint of item {donation}:{index} is not the one its "
                        "DonationMade event records"
                    )

    def _started(self, run: UUID, whose: str) -> tuple[Fact, list[dict[str, Any]]]:
        """The run's TrainingRunStarted event and the training set it records."""
        started = self._one("TrainingRun.TrainingRunStarted", run, whose)
        items = started.field("items", list)
        if not all(isinstance(item, dict) for item in items):
            raise ProofError(f"the TrainingRunStarted event of {whose} holds a malformed item")
        return started, items

    def _training_set(self, run: UUID, whose: str) -> tuple[Fact, list[dict[str, Any]]]:
        """As `_started`, and none of the items is an erased stage."""
        started, items = self._started(run, whose)
        held = sorted(self.erased & {str(item.get("fingerprint", "")).lower() for item in items})
        if held:
            raise ProofError(
                f"{whose} trained on {len(held)} erased stage(s): fingerprint {held[0]} is "
                "in its recorded training set"
            )
        return started, items

    def _run(self, summary: RunPart) -> None:
        run = UUID(summary.run_id)
        whose = f"retraining run {run}"
        started, items = self._training_set(run, whose)
        planned = self._one("TrainingRun.RetrainingPlanned", run, whose)
        self._one("TrainingRun.TrainingRunCompleted", run, whose)
        if started.field("shards", int) != summary.shards:
            raise ProofError(f"{whose} has {started.state['shards']} shards, not {summary.shards}")
        if _id(planned.state.get("base_version")) != _id(summary.base_version):
            raise ProofError(f"the base version of {whose} is not the one its plan records")
        retrained, dropped = set(summary.shards_retrained), set(summary.shards_dropped)
        if retrained & dropped or retrained | dropped != set(planned.field("retrained", list)):
            raise ProofError(f"the shards retrained and dropped of {whose} are not those planned")
        reused = _final_by_shard(planned.field("reused", list), whose)
        if {r.shard for r in summary.shards_reused} != reused.keys():
            raise ProofError(f"the shards reused by {whose} are not those its plan records")
        for claim in summary.shards_reused:
            taken = reused[claim.shard]
            same_hash = str(taken.get("hash")).lower() == claim.checkpoint_hash.lower()
            if not same_hash or _id(taken.get("reused_from")) != _id(claim.trained_by):
                raise ProofError(
                    f"the reused checkpoint of shard {claim.shard} of {whose} is not the one "
                    "its RetrainingPlanned event records"
                )
        for claim in summary.shards_reused:
            self._reused_clean(claim.shard, UUID(claim.trained_by), whose)
        for shard in dropped:
            if any(item.get("shard") == shard for item in items):
                raise ProofError(f"shard {shard} of {whose} is called dropped but has items")
        self._checkpoints(summary, run, whose, started, reused, dropped)

    def _reused_clean(self, shard: int, trained_by: UUID, whose: str) -> None:
        """The run that trained a reused checkpoint had none of the erased stages in that
        shard (an item without a recorded shard is in the shard of its item id)."""
        started, items = self._started(trained_by, f"run {trained_by}")
        shards = started.field("shards", int)
        for item in items:
            placed = item.get("shard")
            if placed is None:
                placed = shard_of(str(item.get("item_id")), shards)
            if placed == shard and str(item.get("fingerprint")).lower() in self.erased:
                raise ProofError(
                    f"the checkpoint of shard {shard} that {whose} reused was trained on an "
                    f"erased stage (fingerprint {item.get('fingerprint')})"
                )

    def _checkpoints(
        self,
        summary: RunPart,
        run: UUID,
        whose: str,
        started: Fact,
        reused: dict[int, dict[str, Any]],
        dropped: set[int],
    ) -> None:
        """The version's final checkpoints: reused ones from the plan, the others proven by
        the checkpoint each retrained shard saved at its last step."""
        steps = started.field("config", dict).get("train", {}).get("steps")
        saved = _final_by_shard(
            [f.state for f in self._all("TrainingRun.CheckpointSaved", run)], whose
        )
        expected = []
        for shard in range(summary.shards):
            if shard in dropped:
                continue
            final = reused.get(shard) or saved.get(shard)
            if final is None or (shard not in reused and final.get("step") != steps):
                raise ProofError(f"missing proof: no final checkpoint of shard {shard} of {whose}")
            expected.append(final.get("hash") or final.get("checkpoint_hash"))
        if expected != summary.checkpoints:
            raise ProofError(f"the checkpoints of {whose} are not the ones its events record")

    def _model(self) -> None:
        model = self.cert.model_version
        if model is None:
            if self.cert.retraining:
                raise ProofError("the certificate names retraining runs but no model version")
            return
        version = UUID(model.version)
        whose = f"model version {version}"
        if model.holds_erased_fingerprints:
            raise ProofError(f"the certificate says {whose} still holds erased stages")
        started, items = self._training_set(version, whose)
        if started.field("shards", int) != model.shards or len(items) != model.training_items:
            raise ProofError(f"the shards or item count of {whose} are not those it recorded")
        deployed = self._all("ModelRegistry.ModelDeployed", ModelRegistry.REGISTRY_ID)
        if not any(fact.state.get("run_id") == str(version) for fact in deployed):
            raise ProofError(f"missing proof: no ModelDeployed event of {whose}")

    def _continuation(self) -> None:
        part = self.cert.continuation_model
        if part is None:
            return
        withdrawals = self._all("ModelRegistry.ModelVariantWithdrawn", ModelRegistry.REGISTRY_ID)
        for version in part.withdrawn:
            if not any(fact.state.get("run_id") == _id(version) for fact in withdrawals):
                raise ProofError(
                    f"missing proof: no ModelVariantWithdrawn event of continuation model {version}"
                )
        if part.version is None:
            return
        version_id = UUID(part.version)
        whose = f"continuation model {version_id}"
        if part.holds_erased_fingerprints:
            raise ProofError(f"the certificate says {whose} still holds erased stages")
        _, items = self._training_set(version_id, whose)
        previous = {str(item.get("previous_fingerprint", "")).lower() for item in items}
        if self.erased & previous:
            raise ProofError(f"{whose} was shown an erased stage as a previous stage")
        if len(items) != part.training_items:
            raise ProofError(f"the item count of {whose} is not the one it recorded")
        deployed = self._all("ModelRegistry.ModelVariantDeployed", ModelRegistry.REGISTRY_ID)
        if not any(fact.state.get("run_id") == str(version_id) for fact in deployed):
            raise ProofError(f"missing proof: no ModelVariantDeployed event of {whose}")


def _final_by_shard(checkpoints: Iterable[Any], whose: str) -> dict[int, dict[str, Any]]:
    """The checkpoint of the highest step of each shard."""
    final: dict[int, dict[str, Any]] = {}
    for checkpoint in checkpoints:
        if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("shard"), int):
            raise ProofError(f"an event of {whose} holds a malformed checkpoint")
        known = final.get(checkpoint["shard"])
        if known is None or int(checkpoint.get("step", 0)) > int(known.get("step", 0)):
            final[checkpoint["shard"]] = checkpoint
    return final
