"""Rasa custom actions. Thin: the decisions and the wording live in signposting/ and knowledge/."""
