"""Gradient-based (TRAK / D-TRAK style) attribution of generations to donated training items.

Roles, each in its own module and swappable: `gradients` (per-example features), `projector`
(seeded random projection), `scoring` (TRAK kernel), `store` (index on disk) and `front`
(`Attributor`, the one class callers use).
"""
