"""The caller's own API key: rotated with overlap."""
