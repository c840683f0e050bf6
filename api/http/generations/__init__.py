"""Generations: the exhibition's images, their records and their attribution."""
