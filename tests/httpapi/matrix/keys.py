"""The caller's own key: any key holder may rotate it (a visitor has none)."""

from httpapi.matrix import rule

RULES = {
    ("POST", "/api/v1/keys/rotate"): rule("artist", "compliance", "integrator", "curator"),
}
