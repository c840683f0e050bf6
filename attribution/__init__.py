"""Gradient-based attribution of generations to donated items (filled by the attribution issue)."""
