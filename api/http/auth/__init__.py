"""Who is calling (API keys → a principal) and what each role may do (one rule per route)."""
