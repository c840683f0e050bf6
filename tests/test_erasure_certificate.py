"""The erasure certificate checked offline, and `museum ledger verify`'s erasure checks.

One small museum (SQLite, two shards, ten training steps) erases two donors for real: one no
model ever used (certified at once) and one the deployed version learned from (certified once
the retraining of that donor's shard has replaced it). Each tampering below is done on the JSON
a donor would download, and must be named as what it is.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import factories
import pytest
from pydantic import SecretStr

from generation.retraining import retrain
from generation.service import train_run
from ledger.application import MuseumLedger
from ledger.audit import check_against, full_audit
from ledger.certificate_check import verify_certificate
from ledger.certificate_format import signed_bytes
from ledger.crypto import MasterKey
from ledger.domain.model import ModelRegistry
from ledger.donor_views import certificate_read
from ledger.erasures import Erasures
from ledger.errors import Conflict, ProofError
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings
from ledger.shards import shard_of
from ledger.views import AuditRead

REASON = "Zq-77: my reason, in my own words"
SECRETS = (REASON, "Ana Lucía Ruiz", "ana.ruiz@example.org", "Donor 0", "Donor 1", "Donor 2")


@dataclass
class World:
    settings: Settings
    key: str
    public_key: str
    gone: UUID  # erased after training on them: certified by the retraining
    unused: UUID  # erased with no model holding them: certified at once
    first: UUID  # the version trained on `gone`
    retrained: UUID  # the retraining run that left `gone` out
    certificate: dict[str, Any]
    at_once: dict[str, Any]
    while_open: AuditRead  # verify's figures before the retraining


def _donors(ledger: MuseumLedger) -> tuple[UUID, UUID]:
    """Donors until shard 0 holds two artists and shard 1 one (so that erasing one of shard 0
    retrains it on the other and reuses shard 1), and a donor with no train consent."""
    by_shard: dict[int, list[UUID]] = {0: [], 1: []}
    n = 0
    while len(by_shard[0]) < 2 or not by_shard[1]:
        artist_id = ledger.register_artist(factories.artist(f"Donor {n}"))
        shard = shard_of(str(artist_id), 2)
        if len(by_shard[shard]) < 2:
            ledger.donate(factories.donation(artist_id, stages=factories.stages(shade=11 * n)))
            by_shard[shard].append(artist_id)
        n += 1
    unused = ledger.register_artist(factories.artist("Donor unused"))
    ledger.donate(factories.donation(unused, consents=("exhibit",)))
    return by_shard[0][0], unused


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    key = MasterKey.generate_text()
    settings = Settings(
        home=tmp_path_factory.mktemp("certified") / "var", master_key=SecretStr(key)
    )
    with opened_ledger(settings) as ledger:
        gone, unused = _donors(ledger)
        first = train_run(ledger, job_id="first", shards=2, steps=10)
        erasures = Erasures(ledger)
        at_once = erasures.request(unused, REASON)
        assert at_once.completed
        assert at_once.certificate is not None
        assert not erasures.request(gone, REASON).completed
        while_open = full_audit(ledger)
        outcome = retrain(ledger, job_id="retrain-1", now=True)
        assert outcome.run is not None
        assert outcome.run.state == "completed"
        done = erasures.status(gone)
        assert done.completed
        assert done.certificate is not None
        return World(
            settings,
            key,
            ledger.integrity.public_key_hex,
            gone,
            unused,
            first.id,
            outcome.run.id,
            done.certificate,
            at_once.certificate,
            while_open,
        )


def museum(home: Path, key: str, *args: str) -> tuple[int, str, str]:
    """The `museum` command in-process (the subprocess form is `factories.run_museum`)."""
    done = factories.museum_in_process(home, *args, env={"MUSEUM_MASTER_KEY": key})
    return done.returncode, done.stdout, done.stderr


def check(world: World, path: Path, public_key: str, *extra: str) -> tuple[int, str, str]:
    """`museum ledger check-certificate PATH --public-key KEY`; a refusal is one line."""
    args = ("ledger", "check-certificate", str(path), "--public-key", public_key, *extra)
    code, out, err = museum(world.settings.home, world.key, *args)
    assert code == 0 or (err.count("\n") == 1 and err.startswith("error: ")), err
    return code, out, err


def check_file(world: World, tmp_path: Path, document: Any, public_key: str) -> tuple[int, str]:
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(document))
    code, _, err = check(world, path, public_key)
    return code, err


# --- what a certificate says, and the round trip ----------------------------------------------


def test_the_certificate_round_trips_through_the_command(world: World, tmp_path: Path) -> None:
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(world.certificate))
    home = world.settings.home
    result = factories.run_museum(
        home,
        "ledger",
        "check-certificate",
        str(path),
        "--public-key",
        world.public_key,
        env={"MUSEUM_MASTER_KEY": world.key},
    )
    assert result.returncode == 0, result.stderr
    assert f"artist {world.gone} erased, 3 stages from 1 donation," in result.stdout
    assert f"model version {world.retrained} holds none of them" in result.stdout
    # The erasure status (what the API's status answers) holds it too; --json is the view.
    status = {"artist_id": str(world.gone), "completed": True, "certificate": world.certificate}
    path.write_text(json.dumps(status))
    code, out, err = check(world, path, world.public_key, "--json")
    assert code == 0, err
    checked = json.loads(out)
    assert checked["retraining_runs"] == [str(world.retrained)]
    assert checked["shards_reused"] == 1  # shard 1 held no erased stage: its checkpoint stayed
    assert checked["events_checked"] == len(world.certificate["events"])


def test_what_the_certificates_claim(world: World) -> None:
    (run,) = world.certificate["retraining"]
    assert run["base_version"] == str(world.first)
    assert run["shards_retrained"] == [0]
    assert run["shards_dropped"] == []
    assert [s["shard"] for s in run["shards_reused"]] == [1]
    assert run["shards_reused"][0]["trained_by"] == str(world.first)
    assert world.certificate["model_version"]["version"] == str(world.retrained)
    assert {e["shows"] for e in world.certificate["events"]} >= {
        "erasure requested",
        "key destroyed",
        "donation withdrawn",
        "stages and fingerprints",
        "retraining started",
        "retraining planned",
        "checkpoint saved",
        "retraining completed",
        "model version deployed",
    }
    # The donor no model used: no retraining, the version deployed then holds none of them.
    assert world.at_once["retraining_runs"] == []
    assert world.at_once["model_version"]["version"] == str(world.first)
    assert verify_certificate(world.at_once, world.public_key).items == 3


def test_no_personal_data_in_a_certificate(world: World) -> None:
    for certificate in (world.certificate, world.at_once):
        text = json.dumps(certificate, ensure_ascii=False).encode()
        states = b"".join(base64.b64decode(e["event"]["state"]) for e in certificate["events"])
        for secret in SECRETS:
            assert secret.encode() not in text + states, secret
        assert b"\x89PNG" not in states  # images are named by blob id (of their ciphertext)


# --- each tampering, named as what it is --------------------------------------------------------


def _flip_state(document: dict[str, Any]) -> None:
    event = next(e for e in document["events"] if e["shows"] == "stages and fingerprints")
    state = bytearray(base64.b64decode(event["event"]["state"]))
    state[len(state) // 2] ^= 0x01
    event["event"]["state"] = base64.b64encode(bytes(state)).decode()


def _change_fingerprint(document: dict[str, Any]) -> None:
    document["items"][1]["fingerprint"] = "ab" * 32


def _remove_withdrawal(document: dict[str, Any]) -> None:
    document["events"] = [e for e in document["events"] if e["shows"] != "donation withdrawn"]


def _change_deadline(document: dict[str, Any]) -> None:
    document["deadline"] = "2099-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_flip_state, r"event \d+ \(stages and fingerprints\) is not in the log under the signed"),
        (_change_fingerprint, r"the fingerprint of item \S+:1 is not the one its DonationMade"),
        (_remove_withdrawal, "missing proof: the certificate carries no DonationWithdrawn event"),
        (_change_deadline, "the deadline is not 30 days after the request"),
    ],
)
def test_a_tampered_certificate_is_refused(
    world: World, tmp_path: Path, tamper: Any, reason: str
) -> None:
    document = copy.deepcopy(world.certificate)
    tamper(document)
    with pytest.raises(ProofError, match=reason):
        verify_certificate(document, world.public_key)
    code, err = check_file(world, tmp_path, document, world.public_key)
    assert code == 1
    assert "error: " in err


def test_a_change_no_event_disproves_still_breaks_the_signature(world: World) -> None:
    document = copy.deepcopy(world.certificate)
    event = next(e for e in document["events"] if e["shows"] == "retraining started")
    event["shows"] = "model version trained"  # a role that same event could show
    with pytest.raises(ProofError, match=r"signature does not verify .* changed after"):
        verify_certificate(document, world.public_key)
    document = copy.deepcopy(world.certificate)
    document["tree_head"]["timestamp"] = "2020-01-01T00:00:00+00:00"  # the head signs its ms
    with pytest.raises(ProofError, match=r"signature does not verify .* changed after"):
        verify_certificate(document, world.public_key)
    document = copy.deepcopy(world.certificate)
    document["donations_withdrawn"].append(document["donations_withdrawn"][0].upper())
    with pytest.raises(ProofError, match="listed twice"):
        verify_certificate(document, world.public_key)


def test_another_museums_certificate_and_the_wrong_key(world: World, tmp_path: Path) -> None:
    other = Settings(home=tmp_path / "other", master_key=SecretStr(MasterKey.generate_text()))
    with opened_ledger(other) as ledger:
        artist_id = ledger.register_artist(factories.artist())
        ledger.donate(factories.donation(artist_id))
        foreign = Erasures(ledger).request(artist_id, "").certificate
        other_key = ledger.integrity.public_key_hex
    assert foreign is not None
    assert foreign["model_version"] is None
    verify_certificate(foreign, other_key)  # valid, under its own museum's key
    code, err = check_file(world, tmp_path, foreign, world.public_key)
    assert code == 1
    assert "signed by another key" in err
    assert "another museum's" in err
    code, err = check_file(world, tmp_path, world.certificate, other_key)
    assert code == 1
    assert "signed by another key" in err
    assert "the key given is wrong" in err
    code, err = check_file(world, tmp_path, world.certificate, "11" * 32)
    assert code == 1, err


def test_a_museum_signed_certificate_cannot_claim_a_version_that_holds_the_stages(
    world: World,
) -> None:
    """Even the museum's own key cannot make the older version look clean: its proven
    training set names the erased fingerprints."""
    with opened_ledger(world.settings) as ledger:
        lie = _resigned(ledger, world.certificate, world.first)
    with pytest.raises(ProofError, match=f"model version {world.first} trained on 3 erased"):
        verify_certificate(lie, world.public_key)


def _resigned(ledger: MuseumLedger, certificate: dict[str, Any], version: UUID) -> dict[str, Any]:
    """The certificate with `version` as its model, proven by the real events, under a fresh
    head, signed by the museum."""
    records = ledger.integrity.records
    nids = [e["event"]["notification_id"] for e in certificate["events"]]
    started, deployed = records.notification_id(version, 1), _deployment_of(ledger, version)
    assert started is not None
    assert deployed is not None
    roles = [e["shows"] for e in certificate["events"]]
    for role, nid in (("model version trained", started), ("model version deployed", deployed)):
        if nid not in nids:  # the older version's start is there already (its shard was reused)
            roles.append(role)
            nids.append(nid)
    receipts = ledger.integrity.receipts(nids)
    body = dict(certificate) | {
        "model_version": certificate["model_version"] | {"version": str(version)},
        "events": [
            {"shows": role, "event": r.event.as_builtins(), "inclusion": r.inclusion.as_builtins()}
            for role, r in zip(roles, receipts, strict=True)
        ],
        "tree_head": receipts[0].head.as_builtins(),
    }
    return body | {"signature": ledger.master.signing_key.sign(signed_bytes(body)).hex()}


def _deployment_of(ledger: MuseumLedger, version: UUID) -> int | None:
    for domain_event in ledger.events.get(ModelRegistry.REGISTRY_ID):
        deployed = type(domain_event).__name__ == "ModelDeployed"
        if deployed and getattr(domain_event, "run_id", None) == version:
            nid = ledger.integrity.records.notification_id(
                ModelRegistry.REGISTRY_ID, domain_event.originator_version
            )
            return nid
    return None


def test_what_is_not_a_certificate(world: World, tmp_path: Path) -> None:
    cases = {
        "not JSON": ("{", 7, "is not JSON"),
        "a receipt": (json.dumps({"event": {}, "inclusion": {}, "head": {}}), 1, "malformed"),
        "a list": ("[1]", 1, "expected a JSON object"),
        "open": (json.dumps({"certificate": None, "completed": False}), 1, "not complete"),
        "legacy": (json.dumps({"artist_id": "x", "tree_head": {}}), 1, "before certificates"),
    }
    for name, (text, expected, says) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        code, _, err = check(world, path, world.public_key)
        assert (code, err.count("\n")) == (expected, 1), (name, err)
        assert says in err, (name, err)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (16 << 20) + b"{}")
    code, _, err = check(world, big, world.public_key)
    assert code == 7
    assert "larger than" in err


# --- the API's download -------------------------------------------------------------------------


def test_the_apis_download_verifies(world: World, tmp_path: Path) -> None:
    from litestar.testing import TestClient

    from api.http.app import create_app
    from api.http.settings import HttpSettings

    app = create_app(world.settings, HttpSettings(rate_limit="100000/minute", key_cache_seconds=0))
    with TestClient(app, raise_server_exceptions=False) as client:
        secret = client.app.state.museum.keys.create("compliance", "certificate test").secret
        answer = client.get(
            f"/api/v1/artists/{world.gone}/erasure/certificate",
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == world.certificate  # every field, as signed
    assert check_file(world, tmp_path, answer.json(), world.public_key)[0] == 0


# --- museum ledger verify -----------------------------------------------------------------------


def test_verify_checks_every_certificate_and_the_deployed_version(
    world: World, tmp_path: Path
) -> None:
    # Before the retraining the open erasure is no fault: it is counted as waiting.
    assert world.while_open.erasures_awaiting_retraining == 1
    assert world.while_open.erasures_certified == world.while_open.certificates_verified == 1
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(world.certificate))
    code, out, err = museum(
        world.settings.home, world.key, "ledger", "verify", "--against", str(path)
    )
    assert code == 0, err
    assert "2 erasures certified (2 certificates verified" in out
    assert "0 open erasures awaiting retraining" in out
    # The service refuses to deploy the older version, which learned from the erased donor...
    copied = tmp_path / "copy"
    shutil.copytree(world.settings.home, copied)
    with opened_ledger(world.settings.model_copy(update={"home": copied})) as ledger:
        with pytest.raises(Conflict, match="retired"):
            ModelRecords(ledger).deploy(world.first)
        # ...so deploy it behind the service's back, as a tampering writer would: verify finds it.
        registry = ModelRecords(ledger).registry()
        registry.deploy(world.first)
        ledger.save(registry)
    code, out, err = museum(copied, world.key, "ledger", "verify")
    assert code == 1, out
    assert f"model version {world.first} is deployed, but its training set holds 3" in err
    assert f"artist {world.gone}, whose erasure was certified complete" in err


def test_a_donor_no_model_used_is_certified_at_once(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(factories.artist())
    ledger.donate(factories.donation(artist_id))
    status = Erasures(ledger).request(artist_id, REASON)
    assert status.completed
    assert status.certificate is not None
    checked = verify_certificate(status.certificate, ledger.integrity.public_key_hex)
    assert (checked.items, checked.model_version, checked.retraining_runs) == (3, None, [])
    assert check_against(ledger, status.as_builtins())["kind"] == "certificate"
    figures = full_audit(ledger)
    assert (figures.erasures_certified, figures.certificates_verified) == (1, 1)
    assert figures.erasures_awaiting_retraining == 0


def test_a_certificate_from_before_signing_still_passes_verify(ledger: MuseumLedger) -> None:
    """Ledgers certified erasures before certificates carried proofs: such a certificate is
    only a signed head, which the log's audit checks; verify passes and counts it apart."""
    artist_id = ledger.register_artist(factories.artist())
    ledger.donate(factories.donation(artist_id))
    ledger.erase_artist(artist_id, "")  # no settle: certified below, the way it used to be
    artist = ledger.get_artist(artist_id)
    head = ledger.integrity.sign_head().as_dict()
    artist.complete_erasure(certificate={"artist_id": str(artist_id), "tree_head": head})
    ledger.save(artist)
    figures = full_audit(ledger)
    assert (figures.erasures_certified, figures.certificates_verified) == (1, 0)
    status = ledger.erasure_status(artist_id).as_builtins()
    assert check_against(ledger, status)["tree_size"] == head["tree_size"]
    with pytest.raises(ProofError, match="before certificates were signed"):
        verify_certificate(status["certificate"], ledger.integrity.public_key_hex)
    with pytest.raises(Conflict, match="before certificates were signed"):
        certificate_read(status["certificate"])
