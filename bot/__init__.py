"""Signpost's Rasa side: the domain (bot/domain/), run-time settings and custom NLU components."""
