"""Pages: exhibition."""
