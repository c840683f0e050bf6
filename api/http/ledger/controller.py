"""The verifiable log over HTTP, as `museum ledger head|proof|consistency|verify` give it.

Who sees what: the signed head and consistency proofs are hashes and a signature, public to
everyone. A receipt carries the event's stored bytes (what the offline verifier re-hashes), and
those are plain JSON apart from the sealed personal fields: amounts, consents, tags, artist ids.
So receipts are not public: staff (compliance, curators) get any; an artist those of their own
artist record and donations; an integrator those of revenue reports. Any other event answers
404, as an event that does not exist. Verification re-reads the whole log (staff only).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, MediaType, Response, get
from litestar.params import PathParameter, QueryParameter

from api.http.auth.access import EVERYONE, STAFF, allow
from api.http.auth.principal import Principal, Role
from api.http.deps import Caller, Museum
from api.http.ledger.schemas import LedgerHeadRead
from api.http.museum import MuseumServices
from ledger.audit import full_audit
from ledger.errors import NotFound
from ledger.validation import event_reference
from ledger.views import AuditRead, ConsistencyRead, ReceiptRead, SigningKeyRead
from royalties.audit import compare
from royalties.domain import RevenueReport
from royalties.projection import PostingsProjection

INT64 = 2**63 - 1
EventRef = Annotated[
    str,
    PathParameter(
        description="A notification id (e.g. 42), or ORIGINATOR_ID:VERSION.", max_length=80
    ),
]
First = Annotated[
    int, QueryParameter(name="first", ge=0, le=INT64, description="Size of the older signed head.")
]
Second = Annotated[
    int | None,
    QueryParameter(
        name="second", ge=0, le=INT64, description="Size of the newer head (default: now)."
    ),
]
Projections = Annotated[
    bool,
    QueryParameter(name="projections", description="Also compare the read models with a rebuild."),
]


def may_see_receipt(principal: Principal, receipt: ReceiptRead, museum: MuseumServices) -> bool:
    """Staff see any event's receipt; an artist their own artist record's and donations';
    an integrator revenue reports'. The pages ask the same."""
    if principal.role in STAFF:
        return True
    event = receipt.event
    if principal.role is Role.INTEGRATOR:
        aggregate = event.topic.partition(":")[2].split(".")[0]
        return aggregate == RevenueReport.__name__
    if principal.role is Role.ARTIST and principal.artist_id is not None:
        artist = museum.ledger.get_artist(principal.artist_id)
        return UUID(event.originator_id) in {principal.artist_id, *artist.donation_ids}
    return False


def visible_receipt(event: str, museum: MuseumServices, principal: Principal) -> ReceiptRead:
    """The receipt of an event by notification id or ORIGINATOR_ID:VERSION, if the caller may
    have it; else 404, as for an event that does not exist."""
    reference = event_reference(event)
    integrity = museum.ledger.integrity
    found = (
        integrity.receipt(reference)
        if isinstance(reference, int)
        else integrity.receipt_for(*reference)
    )
    if not may_see_receipt(principal, found, museum):
        raise NotFound(f"no event {event} in the ledger")
    return found


def verify_ledger(museum: MuseumServices, projections: bool = False) -> AuditRead:
    """`museum ledger verify`: the figures when all holds, else the first fault raised
    (`IntegrityViolation`). The compliance desk's "verify now" runs the same."""
    read_models = {"royalty_postings": lambda ledger: compare(PostingsProjection(ledger))}
    return full_audit(museum.ledger, [], read_models if projections else None)


class LedgerController(Controller):
    path = "/ledger"
    tags = ("ledger",)

    @get("/head", opt=allow(*EVERYONE), sync_to_thread=True)
    def head(self, museum: Museum) -> LedgerHeadRead:
        """The signed tree head over everything recorded so far (signed now if anything is new,
        else the latest) and the museum's Ed25519 public key."""
        integrity = museum.ledger.integrity
        return LedgerHeadRead(
            **integrity.sign_head().as_dict(), public_key=integrity.public_key_hex
        )

    @get("/keys", opt=allow(*EVERYONE), sync_to_thread=True)
    def keys(self, museum: Museum) -> list[SigningKeyRead]:
        """Every tree-head key the museum has signed with, oldest first, retired ones too
        (`museum keys rotate-master`): find the key of an old head, receipt or certificate by
        its `key_id`."""
        return museum.ledger.integrity.signing_keys()

    @get(
        "/events/{event:str}/receipt",
        opt=allow(Role.ARTIST, Role.COMPLIANCE, Role.CURATOR, Role.INTEGRATOR),
        sync_to_thread=True,
    )
    def receipt(self, event: EventRef, museum: Museum, principal: Caller) -> ReceiptRead:
        """A receipt of one event: its stored bytes, inclusion path and a signed head covering
        it; `museum ledger check-receipt` verifies it offline. Staff get any event's; artists
        their own records'; integrators revenue reports'."""
        return visible_receipt(event, museum, principal)

    @get(
        "/events/{event:str}/proof",
        opt=allow(Role.ARTIST, Role.COMPLIANCE, Role.CURATOR, Role.INTEGRATOR),
        sync_to_thread=True,
        media_type=MediaType.TEXT,
    )
    def proof(self, event: EventRef, museum: Museum, principal: Caller) -> Response[str]:
        """The receipt as an offline proof in the ecosystem's shape (c2sp.org/tlog-proof: the
        stored event as `extra`, its index and path, the latest cosigned checkpoint covering
        it); `museum ledger check-proof --quorum N` asks for N trusted witnesses. Who may
        have it: as for the receipt."""
        found = visible_receipt(event, museum, principal)
        bundle = museum.publication.proof_bundle(found.event.notification_id)
        return Response(bundle.render(), media_type=MediaType.TEXT)

    @get("/consistency", opt=allow(*EVERYONE), sync_to_thread=True)
    def consistency(self, first: First, museum: Museum, second: Second = None) -> ConsistencyRead:
        """A proof that the log of `first` events is a prefix of the log of `second` events
        (RFC 6962): compare two signed heads you were handed at different times."""
        return museum.ledger.integrity.consistency(first, second)

    @get("/verification", opt=allow(*STAFF), sync_to_thread=True)
    def verification(self, museum: Museum, projections: Projections = False) -> AuditRead:
        """Recompute every leaf, head, blob and key from the store (`museum ledger verify`): the
        figures when all holds; a 409 naming the first fault otherwise. It reads the whole
        log on each call, so it takes seconds on a large ledger (about 50,000 events/s)."""
        return verify_ledger(museum, projections)
