"""Server start and stop: the configured models start loading as the server starts, so the
first visitor does not wait for the load (one who comes early sees its progress on the page,
and the log shows each step)."""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager

from ..settings import Settings, SettingsError, env_name, file_secrets
from . import state

log = logging.getLogger("glm4_app.server")


@asynccontextmanager
async def lifespan(app):
    _log_to_stderr()
    try:
        settings = state.settings()
    except SettingsError as err:  # the pages say it too, with the variable to fix
        log.error("The app's settings are invalid: %s", err)
        yield
        return
    for note in startup_notes(settings, os.environ, file_secrets()):
        log.warning("%s", note)
    from .health import model_jobs

    watcher = asyncio.create_task(report_progress(model_jobs(settings)))
    try:
        yield
    finally:
        watcher.cancel()


async def report_progress(jobs, interval_s: float = 0.5) -> None:
    """Log each loading step as it happens, then how the load ended."""
    shown = {kind: 0 for kind, _ in jobs}
    pending = list(jobs)
    while pending:
        for kind, job in list(pending):
            for step in job.steps[shown[kind] :]:
                log.info("Loading the %s model: %s", kind, step)
            shown[kind] = len(job.steps)
            if job.done:
                pending.remove((kind, job))
                seconds = job.finished_at - job.started_at
                if job.error is not None:
                    log.error(
                        "The %s model failed to load after %.0f s: %s %s",
                        kind,
                        seconds,
                        job.error.title,
                        job.error.hint,
                    )
                else:
                    log.info(
                        "The %s model %s is ready after %.1f s", kind, job.result.info.name, seconds
                    )
        await asyncio.sleep(interval_s)


def startup_notes(settings: Settings, env, secrets) -> list[str]:
    """Configuration an operator should hear about at start."""
    notes = []
    if env_name("password") in env or "password" in secrets:
        notes.append(
            "GLM4_PASSWORD (the old shared password) is no longer used: each user has an account. "
            "`python -m glm4_app.users migrate` creates accounts for the names that own conversations."
        )
    if settings.auth == "header":
        from ..identity import proxy_networks

        networks, bad = proxy_networks(settings.trusted_proxies)
        if bad:
            notes.append(
                f"GLM4_TRUSTED_PROXIES has entries that are not addresses: {', '.join(bad)}."
            )
        if not networks:
            notes.append("GLM4_AUTH=header but GLM4_TRUSTED_PROXIES is empty: nobody can sign in.")
        if "FORWARDED_ALLOW_IPS" not in env:
            notes.append(
                "GLM4_AUTH=header: uvicorn replaces the address of loopback proxies with their "
                "X-Forwarded-For client; set FORWARDED_ALLOW_IPS='' (scripts/run.sh does) so the "
                "trusted-proxy check sees the proxy itself."
            )
    return notes


def _log_to_stderr() -> None:
    """The app's INFO lines (loading steps) reach the server's log, once."""
    logger = logging.getLogger("glm4_app")
    if not logger.handlers and not logging.getLogger().handlers:  # nobody configured logging
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
