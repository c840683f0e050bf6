"""Model, retraining, generations, attribution and jobs: who starts long work, who reads what
it made."""

from httpapi.matrix import EVERYONE, rule

READERS = rule("compliance", "curator", "integrator")
MAKERS = rule("integrator", "curator", "artist", members_only=True)
GENERATION = "/api/v1/generations/{generation_id:uuid}"

RULES = {
    ("POST", "/api/v1/runs"): rule("curator"),
    ("GET", "/api/v1/runs"): READERS,
    ("GET", "/api/v1/runs/{run_id:uuid}"): READERS,
    ("GET", "/api/v1/models"): EVERYONE,
    ("GET", "/api/v1/models/deployed"): EVERYONE,
    ("GET", "/api/v1/models/retraining"): rule(
        "compliance", "curator", "artist", members_only=True
    ),
    ("POST", "/api/v1/models/retraining"): rule("curator", "compliance"),
    ("POST", "/api/v1/generations"): MAKERS,
    ("GET", "/api/v1/generations"): EVERYONE,
    ("GET", GENERATION): EVERYONE,
    ("GET", GENERATION + "/image"): EVERYONE,
    ("GET", GENERATION + "/credentials"): EVERYONE,
    ("GET", GENERATION + "/attribution"): EVERYONE,
    ("GET", GENERATION + "/attributions"): EVERYONE,
    ("POST", GENERATION + "/attributions"): MAKERS,
    ("POST", "/api/v1/continuations"): MAKERS,
    ("POST", "/api/v1/continuations/upload"): MAKERS,
    ("GET", "/api/v1/jobs/{job_id:uuid}"): rule(
        "curator", "integrator", "compliance", "artist", members_only=True
    ),
}
