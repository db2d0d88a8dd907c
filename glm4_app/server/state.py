"""The server process's settings, read once: the environment and the secrets.toml files the
pages read too, so the routes and the pages ask the model manager for the same models."""

from __future__ import annotations

from functools import lru_cache

from ..settings import Settings, file_secrets


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.load(secrets=file_secrets())
