"""Who is asking: bearer tokens for programs, a signed session cookie for people, roles for both.

The session cookie is signed (itsdangerous), HttpOnly and SameSite=Lax, and carries only the
username, the user's session version, a CSRF token and two times (signed in, last active); the
role and version are looked up on every request, so a role change, a sign-out, a new password or
a disabled account applies at once.
Every unsafe request that rides on the cookie must echo the CSRF token (form field or header).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from api.ports import Services
from rules.views import Principal, Role

SESSION_COOKIE = "fa_session"
LOGIN_COOKIE = "fa_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
REFRESH_KEY = "fa_session_refresh"
SESSION_MAX_AGE = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(auto_error=False, description="An API token from `facility-agent token create`.")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The web pages' session cookie.")


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    csrf: str
    version: int = 0  # the user's session version when signed in (see agent.services.auth)
    started: float = 0.0  # epoch seconds, by the services' clock
    seen: float = 0.0  # last activity, refreshed at most once a minute


MIN_SECRET_BYTES = 32
REFRESH_AFTER = 60.0  # seconds of activity between re-issued cookies (the idle timeout slides)


class SessionSigner:
    """Signs the session cookie. A session ends after ``idle_timeout`` seconds without a request,
    after SESSION_MAX_AGE in all, or when the user's session version moves on."""

    def __init__(self, secret: str, *, secure: bool, idle_timeout: float = 3600.0) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the session secret is {len(secret.encode())} bytes; it needs at least {MIN_SECRET_BYTES} "
                "(make one with 'openssl rand -hex 32')"
            )
        self._session = URLSafeTimedSerializer(secret, salt="facility-agent.session")
        self._login = URLSafeTimedSerializer(secret, salt="facility-agent.login")
        self.secure = secure
        self.idle_timeout = idle_timeout

    def dump(
        self, username: str, *, version: int = 0, now: float, csrf: str | None = None, started: float | None = None
    ) -> tuple[str, Session]:
        session = Session(
            username=username,
            csrf=csrf or secrets.token_urlsafe(24),
            version=version,
            started=now if started is None else started,
            seen=now,
        )
        data = {"u": session.username, "c": session.csrf, "v": session.version, "s": session.started, "t": session.seen}
        return self._session.dumps(data), session

    def load(self, value: str, now: float) -> Session | None:
        try:
            data = self._session.loads(value, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("c"), str):
            return None
        version, started, seen = data.get("v"), data.get("s"), data.get("t")
        if not isinstance(version, int) or not isinstance(started, int | float) or not isinstance(seen, int | float):
            return None  # a cookie from before session versions: sign in again
        if now - seen > self.idle_timeout or now - started > SESSION_MAX_AGE:
            return None
        return Session(username=data["u"], csrf=data["c"], version=version, started=float(started), seen=float(seen))

    def refreshed(self, session: Session, now: float) -> str | None:
        """A new cookie value when the last one is over a minute old (None: keep it)."""
        if now - session.seen < REFRESH_AFTER:
            return None
        value, _ = self.dump(session.username, version=session.version, now=now, csrf=session.csrf, started=session.started)
        return value

    def login_nonce(self) -> tuple[str, str]:
        """A pre-sign-in CSRF token for the login form: (cookie value, form value)."""
        nonce = secrets.token_urlsafe(24)
        return self._login.dumps(nonce), nonce

    def check_login_nonce(self, cookie: str | None, form_value: str) -> bool:
        if not cookie or not form_value:
            return False
        try:
            nonce = self._login.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, form_value)


class SignInLimiter:
    """Failed sign-ins slow down the next try, per (username, address) and per address: after
    ``attempts`` failures within ``window`` each further try waits 2, 4, 8 ... seconds (at most
    the window). Someone guessing from elsewhere never locks the owner out at their own address.
    At most ``max_hashing`` passwords are checked at once (argon2 costs 64 MiB each)."""

    def __init__(
        self, *, attempts: int = 5, window: timedelta = timedelta(minutes=5), max_hashing: int = 4, hash_wait: float = 5.0
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.hash_wait = hash_wait  # seconds a sign-in waits for a free slot before a 503
        self._failures: dict[str, deque[datetime]] = {}
        self.hashing = threading.BoundedSemaphore(max_hashing)

    @staticmethod
    def keys(username: str, address: str) -> list[str]:
        return [f"user:{username.strip().lower()}@{address}", f"ip:{address}"]

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, keys: list[str], now: datetime) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        wait = 0.0
        for key in keys:
            q = self._recent(key, now)
            # The address alone may fail more often: a ward's shared tablet, several people.
            free = self.attempts if key.startswith("user:") else self.attempts * 4
            if len(q) >= free:
                delay = min(2.0 ** (len(q) - free + 1), self.window.total_seconds())
                wait = max(wait, (q[-1] + timedelta(seconds=delay) - now).total_seconds())
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, keys: list[str], now: datetime) -> None:
        for key in keys:
            self._recent(key, now).append(now)
        if len(self._failures) > 10_000:  # many distinct names: forget the idle ones
            for key in [k for k, q in self._failures.items() if not q]:
                del self._failures[key]

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def services_dependency(request: Request) -> Services:
    """The same as services_of, as a dependency: async, so it costs no thread-pool hop."""
    return services_of(request)


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.signer
    return signer


def session_of(request: Request) -> Session | None:
    if "fa_session_obj" not in request.scope:
        raw = request.cookies.get(SESSION_COOKIE)
        now = services_of(request).now().timestamp()
        request.scope["fa_session_obj"] = signer_of(request).load(raw, now) if raw else None
    session: Session | None = request.scope["fa_session_obj"]
    return session


def _note_activity(request: Request, session: Session) -> None:
    """The caller is signed in and active: slide the idle timeout (SessionRefresh sets the cookie)."""
    value = signer_of(request).refreshed(session, services_of(request).now().timestamp())
    if value is not None:
        request.scope[REFRESH_KEY] = value


def principal_from(request: Request, bearer: HTTPAuthorizationCredentials | None) -> Principal | None:
    """The caller, or None. A bad bearer token is a 401 rather than falling back to the cookie."""
    if "fa_principal" in request.scope:
        cached: Principal | None = request.scope["fa_principal"]
        return cached
    services = services_of(request)
    principal: Principal | None = None
    if bearer is not None:
        principal = services.verify_token(bearer.credentials)
    else:
        session = session_of(request)
        if session is not None:
            principal = services.principal_for(session.username, session.version)
            if principal is not None:
                _note_activity(request, session)
    return _remember(request, bearer, principal)


async def principal_from_async(request: Request, bearer: HTTPAuthorizationCredentials | None) -> Principal | None:
    """principal_from without a thread-pool hop when the services answered for this caller a
    moment ago (the common case: the same phone or script asking again)."""
    if "fa_principal" in request.scope:
        cached: Principal | None = request.scope["fa_principal"]
        return cached
    services = services_of(request)
    if bearer is not None:
        known, principal = services.recent_principal(token=bearer.credentials)
    else:
        session = session_of(request)
        if session is None:
            return _remember(request, None, None)
        known, principal = services.recent_principal(username=session.username, version=session.version)
        if known and principal is not None:
            _note_activity(request, session)
    if not known:
        return await run_in_threadpool(principal_from, request, bearer)
    return _remember(request, bearer, principal)


def _remember(
    request: Request, bearer: HTTPAuthorizationCredentials | None, principal: Principal | None
) -> Principal | None:
    if bearer is not None and principal is None:
        raise HTTPException(401, "the API token is not valid (unknown or revoked)", {"WWW-Authenticate": "Bearer"})
    request.scope["fa_principal"] = principal
    return principal


def still_allowed(request: Request, bearer: HTTPAuthorizationCredentials | None, role: Role) -> bool:
    """Ask again, skipping this request's cached answer: is the caller still who they were, with
    ``role``? For long-lived requests (the live stream)."""
    for key in ("fa_principal", "fa_session_obj"):
        request.scope.pop(key, None)
    try:
        principal = principal_from(request, bearer)
    except HTTPException:
        return False
    return principal is not None and principal.role.allows(role)


def check_csrf(request: Request, supplied: str | None) -> None:
    session = session_of(request)
    if session is None or not supplied or not hmac.compare_digest(session.csrf, supplied):
        raise HTTPException(403, "the form has expired or did not come from this site; reload the page and try again")


def require(role: Role):  # type: ignore[no-untyped-def]
    """A dependency: the caller must have at least ``role``. Cookie-borne writes need the CSRF header."""

    async def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
        _cookie: str | None = Depends(cookie_scheme),
    ) -> Principal:
        principal = await principal_from_async(request, bearer)
        if principal is None:
            raise HTTPException(401, "sign in, or send an API token as 'Authorization: Bearer ...'", {"WWW-Authenticate": "Bearer"})
        if not principal.role.allows(role):
            raise HTTPException(403, f"this needs the {role.value} role; you have {principal.role.value}")
        if principal.via == "session" and request.method not in SAFE_METHODS:
            check_csrf(request, request.headers.get(CSRF_HEADER))
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency
