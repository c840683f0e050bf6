"""The read-model lists and the caller's own view."""

from httpapi.matrix import EVERYONE, rule

RULES = {
    ("GET", "/api/v1/me"): EVERYONE,
    ("GET", "/api/v1/artists"): rule("compliance", "curator"),
    ("GET", "/api/v1/artists/{artist_id:uuid}/credits"): rule("artist", "compliance", "curator"),
    ("GET", "/api/v1/artists/{artist_id:uuid}/consents"): rule("artist", "compliance"),
    ("GET", "/api/v1/consents"): rule("compliance"),
}
