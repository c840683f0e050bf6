"""Content credentials (C2PA) on generated images: signed, read back, re-issued, and refused.

Real c2pa-python signing and reading, a real ledger; the model is stood in for by a recorded
version and a small PNG (the credentials never look at weights).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from uuid import UUID

import factories
import pytest
from PIL import Image

from generation.credentials.certificates import (
    CHAIN_FILE,
    KEY_FILE,
    ROOT_FILE,
    ClaimSigner,
    claim_signer,
    make_chain,
    pem,
)
from generation.credentials.manifest import RECORD_LABEL, TRAINED_ALGORITHMIC_MEDIA
from generation.credentials.reading import check_png
from generation.credentials.service import ContentCredentialService
from generation.credentials.signing import sign_png
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.credential_records import CredentialRecords
from ledger.crypto import MasterKey
from ledger.errors import ConfigurationError, KeyShredded
from ledger.model_records import ModelRecords
from ledger.settings import Settings
from ledger.views import ERASED_DONOR

INDEX = "cd" * 32


def _generation(ledger: MuseumLedger) -> UUID:
    factories.seed_collection(ledger, artists=2)
    version = factories.recorded_version(ledger, "a")
    records = ModelRecords(ledger)
    run = records.get_run(version)
    return records.record_generation(
        job_id="gen-1",
        run=run,
        seed=4,
        steps=10,
        role="failure",
        emotion="doubt",
        png=factories.png(90),
    ).id


def _attribute(ledger: MuseumLedger, generation_id: UUID, index: str = INDEX) -> None:
    records = ModelRecords(ledger)
    run = records.get_run(records.get_generation(generation_id).model_version)
    ids = run.item_ids()
    scores = {item_id: float(len(ids) - n) for n, item_id in enumerate(ids)}
    AttributionRecords(ledger).record(generation_id, "trak", {"k": 1}, index, scores, 3)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunks.append((data[position + 4 : position + 8], data[position : position + 12 + length]))
        position += 12 + length
    return chunks


def _with_pixel_changed(signed: bytes) -> bytes:
    """The signed file with one pixel changed and its manifest chunk kept where it was."""
    image = Image.open(io.BytesIO(signed)).convert("RGB")
    x, y = 3, 3
    red, green, blue = image.getpixel((x, y))  # type: ignore[misc]
    image.putpixel((x, y), (255 - red, green, blue))
    out = io.BytesIO()
    image.save(out, "PNG")
    fresh = _chunks(out.getvalue())
    kinds = [kind for kind, _ in _chunks(signed)]
    manifest = next(chunk for kind, chunk in _chunks(signed) if kind == b"caBX")
    at = kinds.index(b"caBX")
    body = [chunk for _, chunk in fresh[:at]] + [manifest] + [chunk for _, chunk in fresh[at:]]
    return out.getvalue()[:8] + b"".join(body)


@pytest.fixture
def museum(ledger: MuseumLedger, backend: Settings) -> ContentCredentialService:
    return ContentCredentialService(ledger, backend)


def test_round_trip_carries_the_record_and_is_trusted(
    museum: ContentCredentialService, ledger: MuseumLedger, backend: Settings
) -> None:
    generation_id = _generation(ledger)
    signed = museum.signed_png(generation_id)
    check = museum.check(signed)
    assert check.verdict == "trusted", check
    assert check.ai_generated
    assert check.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert check.generation_id == str(generation_id)
    assert check.seed == 4
    assert check.conditioning == {"role": "failure", "emotion": "doubt"}
    assert check.claim_generator is not None
    assert check.claim_generator.startswith("Failure Museum")
    assert check.training_mining is not None
    assert check.training_mining["cawg.ai_generative_training"] == {"use": "notAllowed"}
    assert check.credits == []
    assert check.versions == 1
    # The receipt in the manifest is the ledger's, and it verifies offline.
    from ledger.receipt import verify_receipt

    assert check.receipt is not None
    verify_receipt(check.receipt, ledger.master.public_key.public_bytes_raw().hex())
    # The pixels are the ledger's image: the manifest wraps it, it does not change it.
    bare = ModelRecords(ledger).get_generation(generation_id)
    assert (
        Image.open(io.BytesIO(signed)).tobytes()
        == Image.open(io.BytesIO(ledger.blobs.get(bare.blob_id))).tobytes()
    )
    # Asking again issues nothing new.
    assert museum.signed_png(generation_id) == signed
    # The chain sits beside the master key, its keys encrypted under it.
    folder = backend.credentials_dir
    assert {ROOT_FILE, CHAIN_FILE, KEY_FILE} <= {p.name for p in folder.iterdir()}
    assert b"ENCRYPTED" in (folder / KEY_FILE).read_bytes()


def test_reattribution_issues_a_new_version_with_the_earlier_as_ingredient(
    museum: ContentCredentialService, ledger: MuseumLedger
) -> None:
    generation_id = _generation(ledger)
    first = museum.signed_png(generation_id)
    _attribute(ledger, generation_id)
    second = museum.describe(generation_id)
    assert [v.version for v in second.versions] == [1, 2]
    assert second.versions[1].attribution_id is not None
    check = second.check
    assert check.verdict == "trusted"
    assert check.versions == 2
    assert check.ai_generated  # the created action lives in the parent, version 1
    assert check.attribution_method == "trak"
    assert check.index_hash == INDEX
    assert check.credits
    assert sum(line.ppm for line in check.credits) == 1_000_000
    assert all(line.pseudonym for line in check.credits)
    assert check.references == 3
    newest = museum.signed_png(generation_id)
    assert newest != first
    assert museum.check(first).verdict == "trusted"
    # Credited stages appear by keyed fingerprint only: no donor's image, no identity.
    import c2pa

    with c2pa.Reader("image/png", io.BytesIO(newest)) as reader:
        store = reader.json()
    run = ModelRecords(ledger).get_run(
        ModelRecords(ledger).get_generation(generation_id).model_version
    )
    for item in run.items:
        assert item["artist_id"] not in store
        assert item["blob_id"] not in store
    for artist_id in {UUID(item["artist_id"]) for item in run.items}:
        identity = ledger.identity(artist_id)
        assert identity.legal_name not in store
        assert identity.contact not in store
    assert RECORD_LABEL in store
    # A second attribution (another index) is a third version, not an overwrite.
    _attribute(ledger, generation_id, "ef" * 32)
    assert [v.version for v in museum.describe(generation_id).versions] == [1, 2, 3]


def test_tampered_stripped_and_foreign_are_each_reported(
    museum: ContentCredentialService, ledger: MuseumLedger
) -> None:
    generation_id = _generation(ledger)
    signed = museum.signed_png(generation_id)
    tampered = museum.check(_with_pixel_changed(signed))
    assert tampered.verdict == "tampered"
    assert "assertion.dataHash.mismatch" in tampered.failures
    stripped = signed[:8] + b"".join(c for kind, c in _chunks(signed) if kind != b"caBX")
    assert museum.check(stripped).verdict == "missing"
    # Signed by another key: a chain of its own, with the same museum record in it.
    root, _, leaf, leaf_key = make_chain("Not the museum")
    forger = ClaimSigner(chain_pem=pem(leaf, root), key=leaf_key, trust_anchors_pem=pem(root))
    definition = {
        "claim_generator_info": [{"name": "Failure Museum Ledger", "version": "0.1.0"}],
        "title": "a forgery",
        "assertions": [{"label": RECORD_LABEL, "data": {"generation_id": str(generation_id)}}],
    }
    bare = Image.open(io.BytesIO(signed))
    out = io.BytesIO()
    bare.save(out, "PNG")
    foreign, _ = sign_png(out.getvalue(), definition, forger, None)
    verdict = museum.check(foreign)
    assert verdict.verdict == "untrusted", verdict
    assert "signingCredential.untrusted" in verdict.failures
    # Its own root would trust it: the verdict is about who signed, not whether it is intact.
    assert check_png(foreign, pem(root)).verdict == "trusted"


def test_deployer_certificate_replaces_the_museum_chain(tmp_path: Path) -> None:
    root, _, leaf, leaf_key = make_chain("A deployer")
    from cryptography.hazmat.primitives import serialization

    chain = tmp_path / "chain.pem"
    key = tmp_path / "key.pem"
    chain.write_text(pem(leaf, root))
    key.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    master = MasterKey.from_text(MasterKey.generate_text())
    settings = Settings(home=tmp_path / "var", c2pa_cert_chain=chain, c2pa_key=key)
    signer = claim_signer(settings, master)
    assert signer.trust_anchors_pem == pem(root)
    assert not settings.credentials_dir.exists()  # no museum chain was made
    other_root, _, other_leaf, _ = make_chain("Someone")
    chain.write_text(pem(other_leaf, other_root))
    with pytest.raises(ConfigurationError, match="does not belong"):
        claim_signer(settings, master)


def test_the_museum_key_opens_only_with_its_master_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var")
    claim_signer(settings, MasterKey.from_text(MasterKey.generate_text()))
    with pytest.raises(ConfigurationError, match="master key"):
        claim_signer(settings, MasterKey.from_text(MasterKey.generate_text()))


def test_a_signer_its_anchors_do_not_vouch_for_is_refused(tmp_path: Path) -> None:
    root, _, leaf, leaf_key = make_chain("A deployer")
    other_root, _, _, _ = make_chain("Another root")
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "chain.pem").write_text(pem(leaf, root))
    (tmp_path / "anchors.pem").write_text(pem(other_root))
    (tmp_path / "key.pem").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = Settings(
        home=tmp_path / "var",
        c2pa_cert_chain=tmp_path / "chain.pem",
        c2pa_key=tmp_path / "key.pem",
        c2pa_trust_anchors=tmp_path / "anchors.pem",
    )
    signer = claim_signer(settings, MasterKey.from_text(MasterKey.generate_text()))
    definition = {"claim_generator_info": [{"name": "x", "version": "1"}], "assertions": []}
    with pytest.raises(ConfigurationError, match=r"reads back as .Valid.: check the signing chain"):
        sign_png(factories.png(3), definition, signer, None)


def test_the_signer_settings_come_in_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.settings import load_settings

    monkeypatch.setenv("MUSEUM_C2PA_KEY", "/nowhere/key.pem")
    with pytest.raises(ConfigurationError, match="MUSEUM_C2PA_CERT_CHAIN and MUSEUM_C2PA_KEY"):
        load_settings(Settings)


def test_an_erasure_shreds_the_versions_that_name_the_donor(
    museum: ContentCredentialService, ledger: MuseumLedger
) -> None:
    generation_id = _generation(ledger)
    museum.signed_png(generation_id)
    _attribute(ledger, generation_id)
    credited = museum.describe(generation_id).check.credits
    names = [line.pseudonym.encode() for line in credited]
    assert names
    # The museum's stored copies never hold a credited pseudonym in clear.
    for path in ledger.blobs.paths():
        assert not any(name in path.read_bytes() for name in names), path
    credentials, _ = museum.current(generation_id)
    donors = CredentialRecords.sealed_for(credentials.latest)
    assert sorted(donors) == sorted(
        UUID(line["key"]) for line in credentials_artists(ledger, generation_id)
    )
    leaving = donors[0]
    name = ledger.artist_view(leaving).pseudonym
    ModelRecords(ledger).erase_artist(leaving, "leaving")
    with pytest.raises(KeyShredded):
        CredentialRecords(ledger).signed_png(credentials)
    # Served again: a fresh version from the newest that still opens (v1), naming no one erased.
    after = museum.describe(generation_id)
    assert [v.version for v in after.versions] == [1, 2, 3]
    assert after.check.verdict == "trusted"
    assert after.check.versions == 2  # v3's parent is v1: v2 went with the donor's key
    assert ERASED_DONOR in [line.pseudonym for line in after.check.credits]
    assert name.encode() not in museum.signed_png(generation_id)


def credentials_artists(ledger: MuseumLedger, generation_id: UUID) -> list[dict[str, object]]:
    latest = AttributionRecords(ledger).latest_for(generation_id)
    assert latest is not None
    return list(latest.per_artist)
