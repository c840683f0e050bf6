"""Pages: donations."""
