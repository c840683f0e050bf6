"""The AI Atelier: the museum's model learning, live over server-sent events, and replayed."""
