"""Similar failures: a donated stage's is exhibition material; an upload needs a key."""

from httpapi.matrix import EVERYONE, rule

RULES = {
    ("GET", "/api/v1/donations/{donation_id:uuid}/stages/{index:int}/similar-failures"): EVERYONE,
    ("POST", "/api/v1/similar-failures"): rule("artist", "curator", "integrator", "compliance"),
}
