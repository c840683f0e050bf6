"""The compliance reports: staff only, but the training-data summary is public."""

from httpapi.matrix import EVERYONE, rule

STAFF = rule("compliance", "curator")

RULES = {
    ("GET", "/api/v1/compliance/runs/{run_id:uuid}"): STAFF,
    ("GET", "/api/v1/compliance/runs/{run_id:uuid}/excluded"): STAFF,
    ("GET", "/api/v1/compliance/erasures"): STAFF,
    ("GET", "/api/v1/compliance/training-data"): EVERYONE,
    ("GET", "/api/v1/compliance/attribution-concentration"): STAFF,
}
