"""Training runs and model versions."""
