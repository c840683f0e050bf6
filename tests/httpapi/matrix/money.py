"""Royalties and the verifiable log: revenue, refunds, payouts, balances, statements, proofs."""

from httpapi.matrix import EVERYONE, rule

OWNER_OR_COMPLIANCE = rule("artist", "compliance")
STATEMENT = "/api/v1/artists/{artist_id:uuid}/statement"

RULES = {
    ("POST", "/api/v1/revenue"): rule("integrator"),
    ("GET", "/api/v1/revenue/{key:str}"): rule("integrator", "compliance"),
    ("POST", "/api/v1/revenue/{key:str}/refunds"): rule("integrator"),
    ("POST", "/api/v1/payout-runs"): rule("curator"),
    ("GET", "/api/v1/balances"): rule("compliance"),
    ("GET", "/api/v1/artists/{artist_id:uuid}/balance"): OWNER_OR_COMPLIANCE,
    ("GET", STATEMENT): OWNER_OR_COMPLIANCE,
    ("GET", STATEMENT + ".html"): OWNER_OR_COMPLIANCE,
    ("GET", STATEMENT + ".csv"): OWNER_OR_COMPLIANCE,
    ("GET", "/api/v1/ledger/head"): EVERYONE,
    ("GET", "/api/v1/ledger/keys"): EVERYONE,
    ("GET", "/api/v1/ledger/events/{event:str}/receipt"): rule(
        "artist", "compliance", "curator", "integrator"
    ),
    ("GET", "/api/v1/ledger/consistency"): EVERYONE,
    ("GET", "/api/v1/ledger/verification"): rule("compliance", "curator"),
}
