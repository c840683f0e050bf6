"""Generative side of the museum: demo collections and the models that learn from donations."""
