"""The pages of My museum (the artist's own) and the compliance desk (staff, as the API's
reports). Beside `pages.py`, the frame's pages, so the two lists merge without touching."""

from httpapi.matrix import rule

M = "/my-museum"
R = "/compliance/runs/{run_id:uuid}"
ARTIST = rule("artist")
STAFF = rule("compliance", "curator")

RULES = {
    ("GET", M): ARTIST,
    ("POST", f"{M}/donations/{{donation_id:uuid}}/consent"): ARTIST,
    ("GET", f"{M}/statement.html"): ARTIST,
    ("GET", f"{M}/statement.csv"): ARTIST,
    ("GET", f"{M}/erase"): ARTIST,
    ("POST", f"{M}/erase"): ARTIST,
    ("GET", f"{M}/erasure"): ARTIST,
    ("GET", f"{M}/erasure/certificate.json"): ARTIST,
    ("GET", "/compliance"): STAFF,
    ("POST", "/compliance/verification"): STAFF,
    ("GET", "/compliance/erasures"): STAFF,
    ("GET", R): STAFF,
    ("GET", f"{R}/proof.json"): STAFF,
}
