"""The museum command, and later the HTTP API and job queue wiring."""
