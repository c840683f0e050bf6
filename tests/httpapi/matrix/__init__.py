"""The access matrix: every route of the app with the roles that may call it.

One module per feature (`RULES`), gathered here; `test_access_matrix` fails for a route of the
app that no module lists, and tries every role (and no key) on every listed route.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

ROLES = ("visitor", "artist", "compliance", "integrator", "curator")


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    members_only: bool = False
    founders_only: bool = False


def rule(*roles: str, members_only: bool = False, founders_only: bool = False) -> Rule:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Rule(frozenset(roles), members_only, founders_only)


EVERYONE = rule(*ROLES)


def all_rules() -> dict[tuple[str, str], Rule]:
    rules: dict[tuple[str, str], Rule] = {}
    for module in pkgutil.iter_modules(__path__):
        found = importlib.import_module(f"{__name__}.{module.name}").RULES
        overlap = set(rules) & set(found)
        if overlap:
            raise ValueError(f"{module.name} lists routes listed elsewhere: {sorted(overlap)}")
        rules.update(found)
    return rules
