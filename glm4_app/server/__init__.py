"""The server around the Streamlit pages (``st.App`` in app.py): sign-in routes, the
OpenAI-compatible API, health and metrics, artifact previews, the gate every request passes,
and the lifespan that starts loading the models when the server starts. No Streamlit imports
here."""

from __future__ import annotations


def parts() -> dict:
    """``routes``, ``middleware`` and ``lifespan`` for ``st.App``."""
    from starlette.middleware import Middleware

    from . import api, artifacts, health, signin
    from .gate import Gate
    from .lifespan import lifespan

    return {
        "routes": [*signin.ROUTES, *api.ROUTES, *health.ROUTES, *artifacts.ROUTES],
        "middleware": [Middleware(Gate)],
        "lifespan": lifespan,
    }
