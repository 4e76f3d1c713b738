"""Signpost's own input channels (registered by module path in bot/credentials.yml)."""
