"""Who is asking: user names and owner keys, failed-login throttling, the OIDC config check
and the warning for an open server. No Streamlit here. Accounts, sessions and API keys live in
accounts.py; the sign-in page is glm4_app/server/signin.py.

``python -m glm4_app.auth check-address ADDRESS`` prints the open-server warning (scripts/run.sh).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import defaultdict, deque
from typing import Any, Callable, Mapping

from .hosting import address_is_hosted
from .notices import Notice

_USER_NAME = re.compile(r"[\w.@+-]{1,64}")


# --- Names and owner keys ------------------------------------------------------------------


def user_name_problem(name: str) -> Notice | None:
    if not _USER_NAME.fullmatch(name.strip()):
        return Notice("auth.user_name")
    return None


def password_owner(name: str) -> str:
    """The owner key of a password-mode user: names are case-insensitive."""
    return "user:" + name.strip().lower()


def oidc_owner(user: Mapping[str, Any]) -> str | None:
    """The owner key of an OIDC user (``st.user``): the e-mail, else the provider's subject id."""
    if not user.get("is_logged_in"):
        return None
    who = user.get("email") or user.get("sub")
    return f"oidc:{str(who).lower() if user.get('email') else who}" if who else None


# --- Failed logins -------------------------------------------------------------------------


class LoginThrottle:
    """After ``max_failures`` failed logins within ``window_s`` for one key (a user name, a
    client address), further tries for that key are refused until the oldest failure ages out.
    Thread-safe: every Streamlit session is a thread."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait_s(self, *keys: str) -> float:
        """Seconds until these keys may try again; 0 when they may now."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys if key]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in filter(None, keys):
                self._failures[key].append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) < self.max_failures:
            return 0.0
        return times[-self.max_failures] + self.window_s - now


# --- OIDC configuration --------------------------------------------------------------------

_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def oidc_provider(auth_section: Mapping[str, Any]) -> str | None:
    """The provider name for ``st.login``: None for one set directly in ``[auth]``, else the
    only ``[auth.NAME]`` section."""
    if all(k in auth_section for k in _PROVIDER_KEYS):
        return None
    named = [k for k, v in auth_section.items() if isinstance(v, Mapping)]
    return named[0] if len(named) == 1 else None


def oidc_config_problems(auth_section: Mapping[str, Any] | None, authlib_ok: bool) -> list[Notice]:
    """What stops ``st.login`` from working, for an admin to act on; empty when fine."""
    problems = []
    if not authlib_ok:
        problems.append(Notice("oidc.no_authlib"))
    if not auth_section:
        return problems + [Notice("oidc.no_section")]
    redirect = str(auth_section.get("redirect_uri", ""))
    if not redirect.endswith("/oauth2callback"):
        problems.append(Notice("oidc.redirect_uri"))
    if len(str(auth_section.get("cookie_secret", ""))) < 32:
        problems.append(Notice("oidc.cookie_secret"))
    named = [v for v in auth_section.values() if isinstance(v, Mapping)]
    providers = [auth_section] if any(k in auth_section for k in _PROVIDER_KEYS) else named
    if not providers:
        problems.append(Notice("oidc.no_provider"))
    elif len(providers) > 1:
        problems.append(Notice("oidc.several_providers"))
    else:
        missing = [k for k in _PROVIDER_KEYS if not providers[0].get(k)]
        if missing:
            problems.append(Notice("oidc.provider_lacks", keys=", ".join(missing)))
    return problems


# --- Who can reach the server --------------------------------------------------------------


def open_to_network(address: str | None, auth: str) -> bool:
    """True when the server listens beyond this machine and nobody has to log in."""
    return auth == "none" and address_is_hosted(address)


def open_warning(address: str | None) -> Notice:
    """The warning for a server open to the network without a login."""
    return Notice("auth.open_to_network", address=address or Notice("auth.every_interface"))


def startup_warning(address: str, env=None, secrets: dict | None = None) -> str | None:
    """The warning for scripts/run.sh to print before the server starts, or None. ``secrets``:
    by default those of every secrets.toml Streamlit will read (~, the working folder, the app's)."""
    from .settings import Settings, file_secrets

    auth_mode = Settings.load(env, file_secrets() if secrets is None else secrets).auth
    return str(open_warning(address)) if open_to_network(address, auth_mode) else None  # a terminal: English


if __name__ == "__main__":  # pragma: no cover - the command-line helper of scripts/run.sh
    if sys.argv[1:2] != ["check-address"] or len(sys.argv) != 3:
        sys.exit("usage: python -m glm4_app.auth check-address ADDRESS")
    warning = startup_warning(sys.argv[2])
    if warning:
        print(f"{'!' * 80}\n{warning}\n{'!' * 80}", file=sys.stderr)
