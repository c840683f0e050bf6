"""The pages (`api.web`): who may open each, signed in by session, never by a Bearer key."""

from httpapi.matrix import EVERYONE, rule

D = "/donations/{donation_id:uuid}"
W = "/works/{generation_id:uuid}"
R = "/atelier/runs/{run_id:uuid}"
ATELIER = rule("artist", "curator", founders_only=True)

RULES = {
    ("GET", "/"): EVERYONE,
    ("GET", W): EVERYONE,
    ("GET", f"{W}/image"): EVERYONE,
    ("GET", f"{W}/receipt.json"): EVERYONE,
    ("GET", "/donate"): rule("artist"),
    ("POST", "/donate"): rule("artist"),
    ("GET", "/donate/stage"): rule("artist"),
    ("GET", D): EVERYONE,
    ("GET", f"{D}/receipt.json"): rule("artist", "compliance", "curator"),
    ("GET", f"{D}/stages/{{index:int}}/image"): EVERYONE,
    ("GET", f"{D}/stages/{{index:int}}/similar-failures"): EVERYONE,
    ("GET", "/sign-in"): EVERYONE,
    ("POST", "/sign-in"): EVERYONE,
    ("GET", "/sign-in/link"): EVERYONE,
    ("POST", "/sign-in/link"): EVERYONE,
    ("POST", "/sign-out"): EVERYONE,
    ("GET", "/atelier"): ATELIER,
    ("GET", "/atelier/live"): ATELIER,
    ("GET", R): ATELIER,
    ("GET", f"{R}/live"): ATELIER,
    ("GET", f"{R}/replay"): ATELIER,
    ("GET", f"{R}/samples/{{number:int}}"): ATELIER,
    ("GET", "/static/{file_path:path}"): EVERYONE,
    ("HEAD", "/static/{file_path:path}"): EVERYONE,
}
