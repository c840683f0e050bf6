"""The C2SP part of `museum bench ledger`: checkpoint signing, witness cosigning, tile and
entry-bundle serving on a real SQLite ledger, and the size of a proof bundle at 10⁶ entries.

Each rate sits beside a baseline timed in the same run on the same machine (a bare Ed25519
signature; the raw database read of the same rows), so the ratio says what our formats cost;
Tessera's published write figures are quoted as the anchor, not re-measured. In process, no
HTTP. Nothing here prints or asserts a timing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.bench_payloads import Payloads
from ledger.benchkit import bench_settings
from ledger.checkpoint import CheckpointSigner
from ledger.cosignature import Cosigner
from ledger.domain import Donation
from ledger.log_tiles import LogTiles
from ledger.proof_bundle import ProofBundle
from ledger.publication import log_publication
from ledger.runtime import opened_ledger
from ledger.schemas import ArtistCreate
from ledger.tiles import WIDTH, TileRef
from ledger.vocabulary import Purpose
from ledger.witness import AddCheckpoint, Witness
from ledger.witness_state import WitnessHome

ORIGIN = "failure-museum.example/api/v1/log"
# transparency-dev/tessera docs/performance.md (POSIX storage, no antispam): the anchor.
TESSERA = {
    "posix_12_core_vm_writes_per_s": 2900,
    "posix_e2_micro_writes_per_s": 1500,
    "source": "transparency-dev/tessera docs/performance.md (writes/s incl. checkpoint, "
    "POSIX storage, no antispam)",
}


def _rate(work: Callable[[int], object], count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        work(i)
    return count / (time.perf_counter() - began)


def _signing(count: int) -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    signer = CheckpointSigner(ORIGIN, key)
    root = hashlib.sha256(b"root").digest()
    message = signer.sign(1_000_000, root).text.encode()
    bare = _rate(lambda _: key.sign(message), count)
    checkpoints = _rate(lambda i: signer.sign(1_000_000 + i, root).render(), count)
    cosigner = Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    text = signer.sign(1_000_000, root).text
    cosignatures = _rate(lambda i: cosigner.cosign(text, 1_700_000_000 + i).line(), count)
    return {
        "ed25519_signs_per_s": bare,
        "checkpoint_signs_per_s": checkpoints,
        "checkpoint_to_bare_ratio": checkpoints / bare,
        "cosignatures_per_s": cosignatures,
    }


def _witnessing(count: int, workdir: Path) -> dict[str, float]:
    """The whole add-checkpoint path: parse, log signature, consistency proof, SQLite write
    transaction, cosignature; the log grows by 16 entries between checkpoints."""
    signer = CheckpointSigner(ORIGIN, Ed25519PrivateKey.generate())
    home = WitnessHome.create(workdir / "witness", "witness.example/w1", [signer.verifier_key()])
    witness = Witness(home.cosigner, home.logs, home.state, time.time)
    leaves = [merkle.leaf_hash(b"%d" % i) for i in range(16 * (count + 1))]
    frontier, roots = merkle.Frontier(), [merkle.EMPTY_ROOT]
    for leaf in leaves:
        frontier.append(leaf)
        roots.append(frontier.root())
    bodies = []
    for i in range(count):
        old, new = 16 * i, 16 * (i + 1)
        proof = tuple(merkle.consistency_proof(leaves, old, new)) if old else ()
        note = signer.sign(new, roots[new]).render()
        bodies.append(AddCheckpoint(old, proof, note).render())
    rate = _rate(lambda i: witness.add_checkpoint(bodies[i]), count)
    return {"witness_cosigns_per_s": rate, "witness_checkpoints": float(count)}


def _serving(events: int, workdir: Path, rounds: int) -> dict[str, Any]:
    settings = bench_settings(workdir / "ledger")
    with opened_ledger(settings) as ledger:
        artist = ledger.register_artist(ArtistCreate("Bench Moth", "Bench Name", "b@example.org"))
        donation = ledger.donate(Payloads(seed=0).donation_request(artist)).donation_id
        aggregate = ledger.get_donation(donation)
        while len(aggregate.pending_events) < events:
            Donation.grant(aggregate, Purpose.RESEARCH)
            Donation.revoke(aggregate, Purpose.RESEARCH)
        ledger.save(aggregate)
        log = ledger.integrity
        size = log.size()
        full = size // WIDTH
        refs = [TileRef(0, n) for n in range(full)]
        bundles = [TileRef(None, n) for n in range(full)]
        cold = _rate(lambda i: LogTiles(log).tile(refs[i % full]), full * rounds)
        warm_tiles = LogTiles(log)
        warm = _rate(lambda i: warm_tiles.tile(refs[i % full]), full * rounds)
        entries = _rate(lambda i: warm_tiles.entries(bundles[i % full]), full * rounds)
        ids, _ = log.leaves_between(0, size)
        raw = _rate(lambda i: log.records.page(ids[(i % full) * WIDTH] - 1, WIDTH), full * rounds)
        bundle_bytes = sum(len(warm_tiles.entries(ref)) for ref in bundles) / full
        publication = log_publication(ledger, ORIGIN)
        checkpoints = _rate(lambda _: publication.checkpoint().render(), 50)
        mean_entry = (bundle_bytes - 2 * WIDTH) / WIDTH
    return {
        "log_entries": size,
        "tiles_per_s_cold": cold,
        "tiles_per_s_cached": warm,
        "tile_mib_per_s_cached": warm * WIDTH * 32 / 2**20,
        "entry_bundles_per_s": entries,
        "raw_page_reads_per_s": raw,
        "entry_bundle_to_raw_read_ratio": entries / raw,
        "entry_bundle_bytes_mean": bundle_bytes,
        "entry_bytes_mean": mean_entry,
        "served_checkpoints_per_s": checkpoints,
    }


def inclusion_path_length(index: int, size: int) -> int:
    """Hashes in the RFC 6962 audit path of leaf `index` in a tree of `size` (no tree built)."""
    length, lo, hi = 0, 0, size
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        lo, hi = (lo, lo + k) if index < lo + k else (lo + k, hi)
        length += 1
    return length


def proof_size(size: int, entry_bytes: int, witnesses: int) -> dict[str, int]:
    """Bytes of a tlog-proof of the first entry of a tree of `size` (its path is the deepest),
    rendered for real with placeholder hashes, beside the path as our JSON receipt holds it."""
    index = 0
    depth = inclusion_path_length(index, size)
    key = Ed25519PrivateKey.generate()
    note = CheckpointSigner(ORIGIN, key).sign(size, b"\x11" * 32)
    cosigners = [Cosigner(f"witness{i}.example/w", key) for i in range(witnesses)]
    note = note.with_signatures(c.cosign(note.text, 1_700_000_000) for c in cosigners)
    path = tuple(b"\x22" * 32 for _ in range(depth))
    with_entry = ProofBundle(index, path, note.render(), b"\x33" * entry_bytes).render()
    bare = ProofBundle(index, path, note.render()).render()
    json_receipt_path = depth * (64 + 4)  # hex hashes, quoted, comma
    return {
        "tree_size": size,
        "path_hashes": depth,
        "witnesses": witnesses,
        "bundle_bytes": len(with_entry.encode()),
        "bundle_bytes_without_entry": len(bare.encode()),
        "json_receipt_path_bytes": json_receipt_path,
    }


def run_c2sp_bench(
    workdir: Path, *, signs: int = 2000, cosigns: int = 200, events: int = 4096, rounds: int = 4
) -> dict[str, Any]:
    """Figures of the C2SP formats, JSON-ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    figures: dict[str, Any] = {"signing": _signing(signs)}
    figures["witness"] = _witnessing(cosigns, workdir)
    figures["serving"] = _serving(events, workdir, rounds)
    entry = round(figures["serving"]["entry_bytes_mean"])
    figures["proof_at_1e6"] = proof_size(10**6, entry, witnesses=2)
    figures["tessera"] = dict(TESSERA)
    figures["seconds"] = time.perf_counter() - began
    return figures
