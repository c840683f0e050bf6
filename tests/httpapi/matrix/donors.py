"""Artists and their donations: register, profile, identity, founding, donate, stage images,
consent, feedback, erasure."""

from httpapi.matrix import EVERYONE, rule

A = "/api/v1/artists/{artist_id:uuid}"
D = "/api/v1/donations/{donation_id:uuid}"
OWNER_AND_COMPLIANCE = rule("artist", "compliance")

RULES = {
    ("POST", "/api/v1/artists"): rule("visitor", "curator"),
    ("GET", A): EVERYONE,
    ("GET", f"{A}/identity"): OWNER_AND_COMPLIANCE,
    ("POST", f"{A}/founding"): rule("curator"),
    ("GET", f"{A}/donations"): EVERYONE,
    ("POST", f"{A}/erasure"): rule("artist"),
    ("GET", f"{A}/erasure"): OWNER_AND_COMPLIANCE,
    ("GET", f"{A}/erasure/certificate"): OWNER_AND_COMPLIANCE,
    ("POST", "/api/v1/donations"): rule("artist"),
    ("GET", D): EVERYONE,
    ("GET", f"{D}/stages/{{index:int}}/image"): EVERYONE,
    ("POST", f"{D}/consent"): rule("artist"),
    ("GET", f"{D}/consent"): OWNER_AND_COMPLIANCE,
    ("GET", f"{D}/consent/{{purpose:str}}"): OWNER_AND_COMPLIANCE,
    ("POST", f"{D}/stages/{{index:int}}/feedback"): rule("curator", "artist", members_only=True),
    ("GET", f"{D}/stages/{{index:int}}/feedback"): EVERYONE,
}
