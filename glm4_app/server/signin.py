"""Sign-in, sign-up and sign-out as plain HTTP routes (``GLM4_AUTH=password``).

A cookie can only be set by an HTTP response, not by a Streamlit script run, so signing in is
an HTML form posted here: the password is checked (Argon2), failures are
throttled per name and per client address, and a session token goes into an HttpOnly,
SameSite=Lax cookie (Secure over HTTPS) before the browser is sent back to the page it wanted.
Forms posted from another site are refused (their ``Origin`` differs), so nobody can sign a
visitor in or out behind their back. Each route's work (SQLite, Argon2) runs in a worker thread,
off the event loop every page's websocket shares.
"""

from __future__ import annotations

import math
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import metrics
from ..accounts import AccountError, AccountStore, store_for
from ..auth import LoginThrottle, user_name_problem
from ..i18n import N_
from ..identity import SESSION_COOKIE
from ..notices import word
from . import html, state

# Failed sign-ins per user name, and per client address: more generous, since a whole team
# behind one proxy shares an address.
BY_NAME, BY_ADDRESS = LoginThrottle(max_failures=5), LoginThrottle(max_failures=30)
MAX_FORM_BYTES = 16 * 1024


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//evil.example``, nor
    ``/<tab>/evil.example``, which browsers read as the same once they drop the tab)."""
    target = (target or "").strip()
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or target.startswith(("/signin", "/signup", "/signout"))
        or any(ord(ch) < 0x20 or ch == "\x7f" for ch in target)
    ):
        return "/"
    return target


def same_origin(request: Request) -> bool:
    """A form posted by a page of this site (browsers send ``Origin`` with every POST)."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def secure(connection: HTTPConnection) -> bool:
    """Whether the browser reached us over HTTPS (directly or through a TLS-ending proxy). A
    forged X-Forwarded-Proto can only make a cookie stricter."""
    return (
        connection.url.scheme == "https"
        or connection.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def signed_in(request: Request, store: AccountStore, user, target: str) -> Response:
    """A new session for ``user``: its cookie, and the way back to ``target``."""
    days = max(1, state.settings().session_days)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        SESSION_COOKIE,
        store.start_session(user, days),
        max_age=days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )
    return response


def clear_session_cookie(response: Response, connection: HTTPConnection) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure(connection)
    )


async def _form(request: Request) -> dict[str, str] | None:
    """The posted fields; None for a form too large (or one that does not say its size)."""
    size = request.headers.get("content-length", "")
    if not size.isdigit() or int(size) > MAX_FORM_BYTES:
        return None
    form = await request.form(max_files=0, max_fields=10)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def off_the_loop(page):
    """An endpoint whose ``page(request, form)`` runs in a worker thread, where it may wait
    for the database and hash passwords; ``form`` is the posted fields ({} for a GET, None
    for a form too large)."""

    async def endpoint(request: Request) -> Response:
        form = await _form(request) if request.method == "POST" else {}
        return await run_in_threadpool(page, request, form)

    return endpoint


def _signup_open(users: int) -> bool:
    """Whether /signup makes accounts, with ``users`` accounts made so far (counted once per
    request by the caller, which needs the number too)."""
    mode = state.settings().signup
    return mode == "open" or (mode == "first" and users == 0)


# --- Sign in -----------------------------------------------------------------------------------


@off_the_loop
def signin(request: Request, form: dict[str, str] | None) -> Response:
    settings = state.settings()
    if settings.auth != "password":
        return RedirectResponse("/", 303)  # nobody signs in here in this mode
    store = store_for(settings)
    lang = html.language(request.query_params.get("lang"), request.headers.get("accept-language"))
    target = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if store.session_user(request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse(target, 303)  # signed in already (a bookmark of /signin)
        note = None
        if "signed_out" in request.query_params:
            note = N_("You are signed out.")
        elif "expired" in request.query_params:
            note = N_("Your session has ended: sign in again.")
        return _signin_page(lang, store, target, note=note)
    if form is None:
        return _signin_page(lang, store, target, error=N_("The form is too large."), status=413)
    if not same_origin(request):
        return _signin_page(
            lang,
            store,
            target,
            error=N_("That form came from another site; sign in from this page."),
            status=403,
        )
    name, password = form.get("name", "").strip(), form.get("password", "")
    target = safe_next(form.get("next"))
    address = request.client.host if request.client else ""
    wait = max(BY_NAME.wait_s(name.lower()), BY_ADDRESS.wait_s(address))
    if wait > 0:
        metrics.SIGN_INS.labels("throttled").inc()
        t = html.translator(lang)
        error = t("Too many failed sign-ins. Try again in {seconds} s.", seconds=math.ceil(wait))
        response = _signin_page(lang, store, target, name, raw_error=error, status=429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    problem = user_name_problem(name)
    if problem:
        return _signin_page(
            lang, store, target, name, raw_error=word(problem, lang), status=400
        )
    user = store.verify(name, password)  # Argon2: ~0.1 s of CPU
    if user is None:
        BY_NAME.failed(name.lower())
        BY_ADDRESS.failed(address)
        metrics.SIGN_INS.labels("wrong").inc()
        return _signin_page(
            lang, store, target, name, error=N_("Wrong user name or password."), status=401
        )
    BY_NAME.succeeded(name.lower())
    metrics.SIGN_INS.labels("ok").inc()
    return signed_in(request, store, user, target)


def _signin_page(
    lang: str,
    store: AccountStore,
    target: str,
    name: str = "",
    *,
    note: str | None = None,
    error: str | None = None,
    raw_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = html.translator(lang)
    parts = []
    if note:
        parts.append(html.message("note", t(note)))
    if error or raw_error:
        parts.append(html.message("error", raw_error or t(error)))
    users = store.count_users()
    signup_open = _signup_open(users)
    if not signup_open and users == 0:
        parts.append(
            html.message(
                "note",
                t(
                    "There are no accounts yet. An admin creates them with "
                    "python -m glm4_app.users add NAME --admin (or sets GLM4_SIGNUP=first to create the first one here)."
                ),
            )
        )
    parts.append(
        '<form method="post" action="/signin">'
        + html.hidden("next", target)
        + html.field(t("User name"), "name", value=name, autocomplete="username")
        + html.field(t("Password"), "password", "password", autocomplete="current-password")
        + f'<button type="submit">{html.escape(t("Sign in"))}</button></form>'
    )
    footer = ""
    if signup_open:
        footer = f'<a href="/signup?next={html.escape(quote(target, safe="/"))}">{html.escape(t("Create an account"))}</a>'
    return HTMLResponse(
        html.page(lang, t("Sign in"), "".join(parts), footer, {"next": target}), status
    )


# --- Sign up -----------------------------------------------------------------------------------


@off_the_loop
def signup(request: Request, form: dict[str, str] | None) -> Response:
    settings = state.settings()
    store = store_for(settings)
    lang = html.language(request.query_params.get("lang"), request.headers.get("accept-language"))
    if settings.auth != "password":
        return RedirectResponse("/signin", 303)
    users = store.count_users()
    if not _signup_open(users):
        return RedirectResponse("/signin", 303)
    first = users == 0
    target = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        return _signup_page(lang, first, target)
    if form is None:
        return _signup_page(lang, first, target, error=N_("The form is too large."), status=413)
    if not same_origin(request):
        return _signup_page(
            lang,
            first,
            target,
            error=N_("That form came from another site; sign in from this page."),
            status=403,
        )
    name, password, again = (
        form.get("name", "").strip(),
        form.get("password", ""),
        form.get("again", ""),
    )
    target = safe_next(form.get("next"))
    if password != again:
        return _signup_page(
            lang, first, target, name, error=N_("The passwords differ."), status=400
        )
    try:
        user = store.add_user(name, password, "admin" if first else "user", first)
    except AccountError as err:
        users = store.count_users()  # another sign-up may have made the first account meanwhile
        if not (first and settings.signup == "open" and users):
            return _signup_page(
                lang, users == 0, target, name, raw_error=word(err, lang), status=400
            )
        try:  # someone else just became the first (admin): an ordinary account then
            user = store.add_user(name, password)
        except AccountError as again_err:
            return _signup_page(
                lang,
                False,
                target,
                name,
                raw_error=word(again_err, lang),
                status=400,
            )
    return signed_in(request, store, user, target)


def _signup_page(
    lang: str,
    first: bool,
    target: str,
    name: str = "",
    *,
    error: str | None = None,
    raw_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = html.translator(lang)
    parts = []
    if first:  # no account yet
        parts.append(html.message("note", t("This first account becomes the admin.")))
    if error or raw_error:
        parts.append(html.message("error", raw_error or t(error)))
    parts.append(
        '<form method="post" action="/signup">'
        + html.hidden("next", target)
        + html.field(t("User name"), "name", value=name, autocomplete="username")
        + html.field(t("Password"), "password", "password", autocomplete="new-password")
        + html.field(t("Repeat the password"), "again", "password", autocomplete="new-password")
        + f'<button type="submit">{html.escape(t("Create account"))}</button></form>'
        + f'<p class="muted">{html.escape(t("At least 8 characters."))}</p>'
    )
    footer = f'<a href="/signin?next={html.escape(quote(target, safe="/"))}">{html.escape(t("Back to sign in"))}</a>'
    return HTMLResponse(
        html.page(lang, t("Create an account"), "".join(parts), footer, {"next": target}), status
    )


# --- Sign out ----------------------------------------------------------------------------------


@off_the_loop
def signout(request: Request, form: dict[str, str] | None) -> Response:
    """GET from a link of this site (or a typed URL) signs out at once; from anywhere else it
    asks first, so a link on another site cannot sign anyone out."""
    lang = html.language(request.query_params.get("lang"), request.headers.get("accept-language"))
    everywhere = request.query_params.get("everywhere") == "1"
    if request.method == "POST":
        if not same_origin(request):
            return _signout_page(lang, status=403)
        everywhere = (form or {}).get("everywhere") == "1"
    elif request.headers.get("sec-fetch-site") not in ("same-origin", "none"):
        return _signout_page(lang)
    settings = state.settings()
    token = request.cookies.get(SESSION_COOKIE)
    if settings.auth == "password":
        store = store_for(settings)
        user = store.session_user(token) if everywhere else None
        if user is not None:
            store.end_all_sessions(user.name)
        store.end_session(token)
    response = RedirectResponse("/signin?signed_out=1" if settings.auth == "password" else "/", 303)
    clear_session_cookie(response, request)
    return response


def _signout_page(lang: str, status: int = 200) -> HTMLResponse:
    t = html.translator(lang)
    body = (
        f"<p>{html.escape(t('Sign out of GLM-4 in this browser?'))}</p>"
        '<form method="post" action="/signout">'
        f'<button type="submit">{html.escape(t("Sign out"))}</button>'
        f'<button type="submit" class="secondary" name="everywhere" value="1">{html.escape(t("Sign out everywhere"))}</button>'
        "</form>"
    )
    return HTMLResponse(html.page(lang, t("Sign out"), body), status)


ROUTES = [
    Route("/signin", signin, methods=["GET", "POST"]),
    Route("/signup", signup, methods=["GET", "POST"]),
    Route("/signout", signout, methods=["GET", "POST"]),
]
