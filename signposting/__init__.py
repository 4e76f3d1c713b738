"""Signpost's core: knowledge, assessment, places, safety, rendering and the CLI. No Rasa imports."""
