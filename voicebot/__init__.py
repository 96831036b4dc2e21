"""The hotline voice agent: per-call sessions, understanding, dialogue, CLI."""
