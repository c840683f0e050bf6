"""Similar failures: the donated failure stages nearest to a stage in the deployed model's eyes."""
