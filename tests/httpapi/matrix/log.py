"""The log in C2SP formats (checkpoint, tiles, entry bundles, its note key): public, like the
signed head, so a monitor needs no key."""

from httpapi.matrix import EVERYONE

RULES = {
    ("GET", "/api/v1/log/checkpoint"): EVERYONE,
    ("GET", "/api/v1/log/key"): EVERYONE,
    ("GET", "/api/v1/log/tile/{path:path}"): EVERYONE,
}
