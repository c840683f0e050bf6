"""The log in C2SP formats (checkpoint, tiles, entry bundles, its note key): public, like the
signed head, so a monitor needs no key. Proof bundles go to whoever may have the receipt or
the certificate they prove."""

from httpapi.matrix import EVERYONE, rule

RULES = {
    ("GET", "/api/v1/log/checkpoint"): EVERYONE,
    ("GET", "/api/v1/log/key"): EVERYONE,
    ("GET", "/api/v1/log/tile/{path:path}"): EVERYONE,
    ("GET", "/api/v1/ledger/events/{event:str}/proof"): rule(
        "artist", "compliance", "curator", "integrator"
    ),
    ("GET", "/api/v1/artists/{artist_id:uuid}/erasure/certificate.tlog-proof"): rule(
        "artist", "compliance"
    ),
}
