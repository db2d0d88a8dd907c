"""Translations, one module per language, keyed by the English source text."""
