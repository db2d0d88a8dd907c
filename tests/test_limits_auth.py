"""Per-user limits and the login helpers, as pure units with a hand-driven clock."""

from __future__ import annotations

import threading

import pytest

from glm4_app.auth import (
    LoginThrottle,
    oidc_config_problems,
    oidc_owner,
    oidc_provider,
    open_to_network,
    password_owner,
    user_name_problem,
)
from glm4_app.limits import Refusal, Slot, UserLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- Limits -----------------------------------------------------------------------------------


def test_requests_per_minute_is_a_sliding_window_with_the_time_to_wait():
    clock = Clock()
    limits = UserLimits(requests_per_minute=2, clock=clock)
    limits.acquire("alice").release()
    clock.now += 20
    limits.acquire("alice").release()
    clock.now += 17
    refused = limits.acquire("alice")
    assert isinstance(refused, Refusal) and refused.limit == "requests_per_minute"
    assert refused.retry_after_s == pytest.approx(23) and "Try again in 23 s." in str(refused.message)
    assert isinstance(limits.acquire("bob"), Slot)  # another user is unaffected
    clock.now += 23  # the first request leaves the window
    assert isinstance(limits.acquire("alice"), Slot)
    assert isinstance(limits.acquire("alice"), Refusal)  # the second is still inside it


def test_concurrent_requests_free_their_place_when_done():
    limits = UserLimits(concurrent=1)
    with limits.acquire("alice"):
        refused = limits.acquire("alice")
        assert isinstance(refused, Refusal) and refused.limit == "concurrent"
        assert "at once (1)" in str(refused.message)
        assert isinstance(limits.acquire("bob"), Slot)
    assert isinstance(limits.acquire("alice"), Slot)


def test_a_refused_request_does_not_use_up_the_minute():
    clock = Clock()
    limits = UserLimits(requests_per_minute=1, concurrent=1, clock=clock)
    slot = limits.acquire("alice")
    assert isinstance(limits.acquire("alice"), Refusal)  # busy
    slot.release()
    slot.release()  # twice is harmless
    clock.now += 60
    assert isinstance(limits.acquire("alice"), Slot)


def test_zero_means_unlimited():
    limits = UserLimits()
    assert all(isinstance(limits.acquire("alice"), Slot) for _ in range(500))
    assert limits.check_upload(10**10, "a.pdf") is None and limits.check_context(10**9) is None


def test_upload_and_context_limits_say_the_sizes():
    limits = UserLimits(upload_mb=2, context_tokens=1000)
    assert limits.check_upload(2 * 1024 * 1024, "a.pdf") is None
    assert "is 3.0 MB; each user may upload files of at most 2 MB" in str(limits.check_upload(3 * 1024 * 1024, "a.pdf").message)
    assert limits.check_context(1000) is None
    assert "1,001 tokens long" in str(limits.check_context(1001).message)


@pytest.mark.timeout(30)
def test_concurrent_sessions_never_exceed_the_limit():
    limits = UserLimits(concurrent=3, requests_per_minute=50)
    barrier = threading.Barrier(40)
    outcomes = []

    def session():
        barrier.wait()
        outcomes.append(limits.acquire("alice"))

    threads = [threading.Thread(target=session) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, Slot) for o in outcomes) == 3
    for o in outcomes:
        if isinstance(o, Slot):
            o.release()
    admitted = 0
    for _ in range(100):
        outcome = limits.acquire("alice")
        if isinstance(outcome, Slot):
            admitted += 1
            outcome.release()
    assert admitted == 47  # 50 a minute, 3 already used; the refused ones counted nothing


# --- Names and throttle ---------------------------------------------------------------------


def test_user_names():
    assert password_owner("  Alice ") == password_owner("alice") == "user:alice"
    assert user_name_problem("alice.b@example.org") is None
    assert user_name_problem("two words") and user_name_problem("")


def test_failed_logins_lock_a_key_until_the_oldest_ages_out():
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, clock=clock)
    for _ in range(3):
        assert throttle.wait_s("name:alice", "ip:1") == 0
        throttle.failed("name:alice", "ip:1")
        clock.now += 10
    assert throttle.wait_s("name:alice") == pytest.approx(30)
    assert throttle.wait_s("name:bob", "ip:1") == pytest.approx(30)  # same address, other name
    assert throttle.wait_s("name:bob", "ip:2") == 0
    clock.now += 30
    assert throttle.wait_s("name:alice") == 0


# --- OIDC -------------------------------------------------------------------------------------

GOOD = {
    "redirect_uri": "https://chat.example.org/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
}


def test_oidc_config_check():
    assert oidc_config_problems(GOOD, authlib_ok=True) == []
    assert oidc_provider(GOOD) is None
    named = {k: GOOD[k] for k in ("redirect_uri", "cookie_secret")}
    named["google"] = {k: GOOD[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    assert oidc_config_problems(named, True) == [] and oidc_provider(named) == "google"
    problems = oidc_config_problems({**GOOD, "redirect_uri": "https://x/", "cookie_secret": "short",
                                     "client_secret": ""}, authlib_ok=False)
    problems = [str(p) for p in problems]
    assert len(problems) == 4 and "Authlib" in problems[0] and "client_secret" in problems[3]
    assert "no `[auth]` section" in str(oidc_config_problems({}, True)[0])


def test_oidc_identity_becomes_the_owner():
    assert oidc_owner({"is_logged_in": False}) is None
    assert oidc_owner({"is_logged_in": True, "email": "Ann@Example.org", "sub": "1"}) == "oidc:ann@example.org"
    assert oidc_owner({"is_logged_in": True, "sub": "abc"}) == "oidc:abc"


# --- Open server ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address,auth,open_",
    [
        ("127.0.0.1", "none", False), ("localhost", "none", False), ("::1", "none", False),
        ("[::1]", "none", False), ("127.0.1.1", "none", False), ("0.0.0.0", "none", True),
        ("", "none", True), (None, "none", True), ("192.168.1.5", "none", True),
        ("chat.example.org", "none", True), ("0.0.0.0", "password", False), ("", "oidc", False),
    ],
)
def test_open_to_network(address, auth, open_):
    assert open_to_network(address, auth) == open_


def test_startup_warning_reads_the_login_from_env_or_secrets(tmp_path, monkeypatch):
    from glm4_app import settings
    from glm4_app.auth import startup_warning

    no_secrets = {}
    assert "listens on 0.0.0.0 without a login" in startup_warning("0.0.0.0", {}, no_secrets)
    assert startup_warning("0.0.0.0", {"GLM4_AUTH": "oidc"}, no_secrets) is None
    assert startup_warning("127.0.0.1", {}, no_secrets) is None
    # The login set in the home folder's secrets.toml, which Streamlit reads too (run.sh
    # starts from another folder): no warning.
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    (home / ".streamlit").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(settings, "APP_DIR", elsewhere)  # whatever a developer keeps there
    assert "without a login" in startup_warning("", {})  # no secrets.toml anywhere yet
    secrets = home / ".streamlit" / "secrets.toml"
    secrets.write_text('auth = "password"\npassword = "x"\n[connections]\nurl = "y"\n')
    assert startup_warning("", {}) is None
