"""Signed notes, checkpoints and cosignatures against implementations no one here wrote: the
test vectors of `golang.org/x/mod/sumdb/note` (note_test.go), the examples of the C2SP specs,
and the signed-note / checkpoint parser of the `sigstore` package."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sigstore._internal.rekor.checkpoint import SignedCheckpoint
from sigstore._internal.trust import Keyring, RekorKeyring
from sigstore._utils import KeyID
from sigstore.errors import VerificationError
from sigstore_models.common.v1 import PublicKey, PublicKeyDetails

from ledger.checkpoint import Checkpoint, CheckpointSigner, open_checkpoint
from ledger.cosignature import CosignatureVerifier, Cosigner, open_cosigned
from ledger.errors import ProofError
from ledger.signed_note import Ed25519NoteSigner, NoteVerifier, open_note, parse_note

# golang.org/x/mod/sumdb/note, note_test.go (TestSign, TestOpen).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_PETER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o"
    "OTGwnWLox33WWd1RvMc+QQ=\n"
)


def go_signer() -> Ed25519NoteSigner:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 0x01
    return Ed25519NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(raw[1:]))


def test_signing_matches_go_sumdb_note_byte_for_byte() -> None:
    signer = go_signer()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.verifier_key() == GO_PETER
    note = parse_note(GO_TEXT + "\n" + GO_PETER_SIG)
    assert note.text == GO_TEXT
    signed = type(note)(GO_TEXT, (signer.sign(GO_TEXT),))
    assert signed.render() == GO_TEXT + "\n" + GO_PETER_SIG


def test_opening_follows_go_sumdb_note() -> None:
    peter, enoch = NoteVerifier.from_key(GO_PETER), NoteVerifier.from_key(GO_ENOCH)
    both = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    assert open_note(both, peter).text == GO_TEXT  # Enoch's signature is ignored, not refused
    assert open_note(both, enoch).text == GO_TEXT
    with pytest.raises(ProofError, match="does not verify"):
        open_note(GO_TEXT + "\n" + GO_PETER_SIG[:60] + "ABCD" + GO_PETER_SIG[60:], peter)
    with pytest.raises(ProofError, match="no signature by"):
        open_note(GO_TEXT + "\n" + GO_ENOCH_SIG, peter)
    bad = [  # Go's "malformed note" inputs
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + GO_PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + GO_PETER_SIG,
        GO_TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT + "\n" + GO_PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + GO_PETER_SIG * 101,
    ]
    for note in bad:
        with pytest.raises(ProofError):
            open_note(note, peter)
    with pytest.raises(ProofError):
        open_note(b"\xff" + (GO_TEXT + "\n" + GO_PETER_SIG).encode(), peter)
    for key in (
        GO_PETER[:-1],
        GO_PETER.replace("c74f20a3", "c74f20a4"),
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(ProofError):
            NoteVerifier.from_key(key)


def test_the_spec_example_checkpoint_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.parse(text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == text
    for wrong in (text.replace("20852163", "020852163"), text[:-1], "a\n1\n", text + "\n"):
        with pytest.raises(ProofError):
            Checkpoint.parse(wrong)


def sigstore_keyring(private_key: Ed25519PrivateKey) -> RekorKeyring:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = PublicKey(raw_bytes=base64.b64encode(der), key_details=PublicKeyDetails.PKIX_ED25519)
    return RekorKeyring(Keyring([key]))


def test_sigstore_parses_and_verifies_our_checkpoint() -> None:
    private_key = Ed25519PrivateKey.generate()
    origin = "museum.test/api/v1/log"
    root = hashlib.sha256(b"some tree").digest()
    note = CheckpointSigner(origin, private_key).sign(1234, root).render()

    parsed = SignedCheckpoint.from_text(note)
    assert parsed.checkpoint.origin == origin
    assert parsed.checkpoint.log_size == 1234
    assert parsed.checkpoint.log_hash == root.hex()
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    spec_id = hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest()[:4]
    (signature,) = parsed.signed_note.signatures
    assert (signature.name, signature.sig_hash) == (origin, spec_id)
    keyring = sigstore_keyring(private_key)
    parsed.signed_note.verify(keyring, KeyID(spec_id))  # raises unless valid

    forged = SignedCheckpoint.from_text(note.replace("\n1234\n", "\n1235\n"))
    with pytest.raises(VerificationError):
        forged.signed_note.verify(keyring, KeyID(spec_id))
    other = sigstore_keyring(Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError):
        parsed.signed_note.verify(other, KeyID(spec_id))


def test_cosignatures_follow_the_spec_and_count_towards_a_quorum() -> None:
    log_key = Ed25519PrivateKey.generate()
    signer = CheckpointSigner("museum.test/log", log_key)
    note = signer.sign(7, hashlib.sha256(b"seven").digest())
    w1, w2 = (Cosigner(f"witness.test/w{i}", Ed25519PrivateKey.generate()) for i in (1, 2))
    stranger = Cosigner("witness.test/stranger", Ed25519PrivateKey.generate())
    cosigned = note.with_signatures(
        [w1.cosign(note.text, 1679315147), stranger.cosign(note.text, 5)]
    ).render()

    # The message and the signature layout as written in c2sp.org/tlog-cosignature.
    line = cosigned.split("\n")[-3]
    raw = base64.b64decode(line.split(" ")[2])
    pub = w1.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw[:4] == hashlib.sha256(b"witness.test/w1\n\x04" + pub).digest()[:4]
    assert struct.unpack(">Q", raw[4:12]) == (1679315147,)
    w1.public_key.verify(raw[12:], b"cosignature/v1\ntime 1679315147\n" + note.text.encode())
    # sigstore reads the cosigned note, and still verifies the log's own signature in it.
    parsed = SignedCheckpoint.from_text(cosigned)
    assert [s.name for s in parsed.signed_note.signatures] == [
        "museum.test/log",
        "witness.test/w1",
        "witness.test/stranger",
    ]
    parsed.signed_note.verify(sigstore_keyring(log_key), KeyID(signer.key_id))

    log = signer.verifier()
    trusted = [CosignatureVerifier.from_key(w.verifier_key()) for w in (w1, w2)]
    assert open_cosigned(cosigned, log, trusted, quorum=1).witnesses == ("witness.test/w1",)
    with pytest.raises(ProofError, match="1 trusted witness"):
        open_cosigned(cosigned, log, trusted, quorum=2)
    both = note.with_signatures([w1.cosign(note.text, 9), w2.cosign(note.text, 9)]).render()
    assert open_cosigned(both, log, trusted, quorum=2).witnesses == (
        "witness.test/w1",
        "witness.test/w2",
    )
    tampered = note.with_signatures([w2.cosign(note.text.replace("7", "8"), 9)]).render()
    with pytest.raises(ProofError, match="does not verify"):
        open_cosigned(tampered, log, trusted, quorum=1)
    with pytest.raises(ProofError, match=r"no signature by museum\.test/log"):
        open_checkpoint(
            CheckpointSigner("elsewhere.test", log_key).sign(7, b"\0" * 32).render(),
            NoteVerifier("museum.test/log", log_key.public_key()),
        )
