"""The erasure certificate: what was erased, how the model was rid of it, proven by the log.

A certificate names the request, every donated stage with its content fingerprint, the key's
destruction, the retraining run(s) that served the erasure (the shards retrained with their
final checkpoints, the checkpoints reused by hash with the run that trained them, the shards
dropped) and the model version deployed when it was issued, whose recorded training set holds
none of those fingerprints. Each of those facts is an event, and the certificate carries each
event's stored bytes with its inclusion path under one signed tree head; the whole document is
signed with the museum's key. `ledger.certificate_check` verifies it with nothing but the
museum's public key; the format both read is `ledger.certificate_format`.

It holds no personal data: ids, fingerprints (keyed with the artist's destroyed key) and stored
events, whose personal fields (the request's reason, the label, the captions) are sealed with
that key; images appear only as the blob ids of their ciphertext.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from ledger.application import MuseumLedger
from ledger.certificate_format import CERTIFICATE_KIND, ROLES, SIGNATURE_CONTEXT, signed_bytes
from ledger.domain import Donation
from ledger.domain.model import CONTINUATION, ModelRegistry, TrainingRun
from ledger.errors import Conflict, IntegrityViolation

__all__ = [
    "CERTIFICATE_KIND",
    "SIGNATURE_CONTEXT",
    "build_certificate",
    "completion_version",
    "signed_bytes",
]


def _version_of(ledger: MuseumLedger, aggregate_id: UUID, name: str, **match: Any) -> int:
    """The originator version of the last event of that class name (and field values)."""
    found: int | None = None
    for domain_event in ledger.events.get(aggregate_id):
        if not isinstance(domain_event, DomainEvent) or type(domain_event).__name__ != name:
            continue
        if all(str(getattr(domain_event, k, None)) == str(v) for k, v in match.items()):
            found = domain_event.originator_version
    if found is None:
        raise IntegrityViolation(f"no {name} event of {aggregate_id} is recorded")
    return found


def completion_version(ledger: MuseumLedger, artist_id: UUID) -> int:
    """The version of the artist's `ErasureCompleted`: the event that records the certificate."""
    return _version_of(ledger, artist_id, "ErasureCompleted")


class CertificateBuilder:
    """Collects the erasure's facts and the events behind them, then proves and signs them."""

    def __init__(self, ledger: MuseumLedger, artist_id: UUID) -> None:
        self.ledger = ledger
        self.artist_id = artist_id
        self.proved: list[tuple[str, UUID, int]] = []  # (what the event shows, id, version)

    def _prove(self, role: str, aggregate_id: UUID, **match: Any) -> None:
        name = ROLES[role].rpartition(".")[2]
        self.proved.append(
            (role, aggregate_id, _version_of(self.ledger, aggregate_id, name, **match))
        )

    def build(self, retraining_runs: list[UUID]) -> dict[str, Any]:
        ledger = self.ledger
        artist = ledger.get_artist(self.artist_id)
        if not artist.key_shredded or artist.erasure_requested_at is None:
            raise Conflict(f"artist {self.artist_id} is not erased: there is nothing to certify")
        # 1. The request, the key's destruction and every withdrawn donation with its stages.
        self._prove("erasure requested", self.artist_id)
        self._prove("key destroyed", self.artist_id)
        items: list[dict[str, Any]] = []
        for donation_id in artist.donation_ids:
            donation = ledger.get_aggregate(donation_id, Donation, "donation")
            self._prove("donation withdrawn", donation_id)
            self._prove("stages and fingerprints", donation_id)
            items += [
                {
                    "item_id": f"{donation_id}:{stage.index}",
                    "donation_id": str(donation_id),
                    "stage_index": stage.index,
                    "fingerprint": stage.fingerprint,
                }
                for stage in donation.stages
            ]
        fingerprints = {item["fingerprint"] for item in items}
        # 2. The retraining runs that served the erasure: their snapshot and plan, the final
        # checkpoint of every shard trained again, their completion.
        runs = []
        for run_id in retraining_runs:
            run = ledger.get_aggregate(run_id, TrainingRun, "training run")
            summary = _run_summary(run)
            self._prove("retraining started", run_id)
            self._prove("retraining planned", run_id)
            finals = {c["shard"]: c for c in run.final_checkpoints()}
            for shard in summary["shards_retrained"]:
                self._prove("checkpoint saved", run_id, shard=shard, step=finals[shard]["step"])
            self._prove("retraining completed", run_id)
            runs.append(summary)
        # The training set of every reused checkpoint's own run, to show it held none either.
        started = set(retraining_runs)
        for summary in runs:
            for reused in summary["shards_reused"]:
                trained_by = UUID(reused["trained_by"])
                if trained_by not in started:
                    started.add(trained_by)
                    self._prove("reused checkpoint trained", trained_by)
        # 3. The deployed version: its training set and its deployment.
        registry = ledger.find(ModelRegistry.REGISTRY_ID, ModelRegistry)
        model: dict[str, Any] | None = None
        if registry is not None and registry.deployed is not None:
            deployed = ledger.get_aggregate(registry.deployed, TrainingRun, "model version")
            held = fingerprints & deployed.fingerprints()
            if held:
                raise Conflict(
                    f"model version {deployed.id} still holds {len(held)} of the erased stages: "
                    "retrain before certifying"
                )
            if deployed.id not in started:
                self._prove("model version trained", deployed.id)
            self._prove("model version deployed", ModelRegistry.REGISTRY_ID, run_id=deployed.id)
            model = {
                "version": str(deployed.id),
                "shards": deployed.shards,
                "training_items": len(deployed.items),
                "holds_erased_fingerprints": False,
            }
        continuation = self._continuation(registry, fingerprints, started)
        # 4. One signed head over every event named, each with its inclusion path.
        notification_ids = []
        for _, aggregate_id, version in self.proved:
            nid = ledger.integrity.records.notification_id(aggregate_id, version)
            if nid is None:
                raise IntegrityViolation(f"event {aggregate_id} v{version} has no notification")
            notification_ids.append(nid)
        receipts = ledger.integrity.receipts(notification_ids)
        head = receipts[0].head.as_builtins()
        body: dict[str, Any] = {
            "kind": CERTIFICATE_KIND,
            "artist_id": str(self.artist_id),
            "requested_at": artist.erasure_requested_at.isoformat(),
            "deadline": artist.erasure_deadline.isoformat() if artist.erasure_deadline else None,
            "donations_withdrawn": [str(d) for d in artist.donation_ids],
            "items": items,
            "key_shredded": True,
            "retraining_runs": [str(r) for r in retraining_runs],
            "retraining": runs,
            "model_version": model,
            "continuation_model": continuation,
            "events": [
                {
                    "shows": role,
                    "event": receipt.event.as_builtins(),
                    "inclusion": receipt.inclusion.as_builtins(),
                }
                for (role, _, _), receipt in zip(self.proved, receipts, strict=True)
            ],
            "tree_head": head,
            "public_key": ledger.integrity.public_key_hex,
        }
        signature = ledger.master.signing_key.sign(signed_bytes(body))
        return body | {"signature": signature.hex()}

    def _continuation(
        self, registry: ModelRegistry | None, fingerprints: set[str], started: set[UUID]
    ) -> dict[str, Any]:
        """The continuation model: each version withdrawn for this erasure (its
        `ModelVariantWithdrawn`), and the one deployed now, shown to hold none of the stages."""
        ledger = self.ledger
        withdrawn: list[UUID] = []
        if registry is not None:
            for domain_event in ledger.events.get(ModelRegistry.REGISTRY_ID):
                if type(domain_event).__name__ != "ModelVariantWithdrawn":
                    continue
                if str(self.artist_id) in str(getattr(domain_event, "reason", "")):
                    run_id = UUID(str(getattr(domain_event, "run_id", "")))
                    withdrawn.append(run_id)
                    self.proved.append(
                        (
                            "continuation model withdrawn",
                            ModelRegistry.REGISTRY_ID,
                            domain_event.originator_version,
                        )
                    )
        version = None if registry is None else registry.deployed_variants.get(CONTINUATION)
        items: int | None = None
        if version is not None:
            deployed = ledger.get_aggregate(version, TrainingRun, "model version")
            held = fingerprints & deployed.fingerprints()
            if held:
                raise Conflict(
                    f"continuation model {version} still holds {len(held)} of the erased "
                    "stages: retrain before certifying"
                )
            if version not in started:
                self._prove("continuation model trained", version)
            self._prove(
                "continuation model deployed",
                ModelRegistry.REGISTRY_ID,
                variant=CONTINUATION,
                run_id=version,
            )
            items = len(deployed.items)
        return {
            "withdrawn": [str(w) for w in withdrawn],
            "version": None if version is None else str(version),
            "training_items": items,
            "holds_erased_fingerprints": False,
        }


def _run_summary(run: TrainingRun) -> dict[str, Any]:
    """What a retraining run did; `checkpoints` are the version's final checkpoints in shard
    order (a dropped shard has none)."""
    plan = run.retraining or {}
    reused = {
        c["shard"]: c for c in run.final_checkpoints() if c["shard"] in set(plan.get("reused", []))
    }
    return {
        "run_id": str(run.id),
        "shards": run.shards,
        "base_version": plan.get("base_version"),
        "shards_retrained": [s for s in plan.get("retrained", []) if s not in run.dropped_shards],
        "shards_reused": [
            {
                "shard": shard,
                "checkpoint_hash": c["hash"],
                "trained_by": c["reused_from"],
            }
            for shard, c in sorted(reused.items())
        ],
        "shards_dropped": sorted(run.dropped_shards),
        "checkpoints": [c["hash"] for c in run.final_checkpoints()],
    }


def build_certificate(
    ledger: MuseumLedger, artist_id: UUID, retraining_runs: list[UUID]
) -> dict[str, Any]:
    """The signed certificate of the artist's erasure (see the module's docstring)."""
    return CertificateBuilder(ledger, artist_id).build(retraining_runs)
