"""Long work as jobs: 202 + a job resource, run in-process (embedded) or on arq workers."""
