"""Custom Rasa NLU components (importable by module path from config.yml)."""
