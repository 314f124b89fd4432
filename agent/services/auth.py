"""People and API tokens: argon2 password hashes, tokens stored as hashes, shown once, revocable.

A token looks like ``fa_<prefix>_<secret>``. Only its SHA-256 is stored: tokens are 256-bit
random, so a slow hash adds nothing, and each API request can be checked with one indexed lookup.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.services.errors import Conflict, Invalid, NotFound
from agent.storage.models import ApiToken, User
from rules.views import NewToken, Principal, Role, TokenView, UserView

Sessions = sessionmaker[Session]

TOKEN_PREFIX = "fa_"
MIN_PASSWORD = 10
# Record last use at most this often, so a busy client doesn't turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_hasher = PasswordHasher()
# Verifying against this keeps a sign-in for an unknown user as slow as one for a known user.
_DUMMY_HASH = _hasher.hash("not a real password, used for timing only")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _parse_role(role: str | Role, field: str = "role") -> Role:
    try:
        return role if isinstance(role, Role) else Role.parse(role)
    except ValueError as exc:
        raise Invalid(field, str(exc)) from None


def _user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        team=user.team,
        disabled=user.disabled,
        created_at=user.created_at,
    )


def _token_view(token: ApiToken, username: str) -> TokenView:
    return TokenView(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        username=username,
        role=Role(token.role),
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 100 or any(ch.isspace() for ch in name):
        raise Invalid("username", "a username is 1–100 characters without spaces")
    return name


def add_user(
    sessions: Sessions,
    *,
    username: str,
    password: str,
    role: str | Role,
    now: datetime,
    display_name: str = "",
    team: str = "",
) -> UserView:
    name = _check_username(username)
    if len(password) < MIN_PASSWORD:
        raise Invalid("password", f"a password needs at least {MIN_PASSWORD} characters")
    user = User(
        username=name,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=_parse_role(role).value,
        team=team.strip(),
        disabled=False,
        created_at=now,
    )
    with sessions() as session:
        session.add(user)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict(f"user {name!r} already exists (usernames are the same regardless of case)") from None
        return _user_view(user)


def _by_name(username: str) -> Any:
    """The user whose name matches regardless of case (usernames are unique that way)."""
    return func.lower(User.username) == username.strip().lower()


def set_password(sessions: Sessions, *, username: str, password: str) -> None:
    """A new password; every session of the user ends (their tokens stay: revoke those apart)."""
    if len(password) < MIN_PASSWORD:
        raise Invalid("password", f"a password needs at least {MIN_PASSWORD} characters")
    _update_user(sessions, username, password_hash=hash_password(password), session_version=User.session_version + 1)


def set_disabled(sessions: Sessions, *, username: str, disabled: bool) -> UserView:
    """Disable (every session and token stops working at once) or enable an account."""
    values: dict[str, Any] = {"disabled": disabled}
    if disabled:
        values["session_version"] = User.session_version + 1
    _update_user(sessions, username, **values)
    return get_user(sessions, username=username)


def end_sessions(sessions: Sessions, *, username: str) -> None:
    """Sign-out: every cookie issued to this user so far stops working."""
    with contextlib.suppress(NotFound):  # removed meanwhile: its cookies are already worthless
        _update_user(sessions, username, session_version=User.session_version + 1)


def _update_user(sessions: Sessions, username: str, **values: Any) -> None:
    with sessions() as session:
        done = session.execute(update(User).where(_by_name(username)).values(**values))
        if not done.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"user {username!r} not found")
        session.commit()


def session_version(sessions: Sessions, *, username: str) -> int | None:
    with sessions() as session:
        version: int | None = session.scalar(select(User.session_version).where(User.username == username))
    return version


def list_users(sessions: Sessions) -> list[UserView]:
    with sessions() as session:
        return [_user_view(u) for u in session.scalars(select(User).order_by(User.username))]


def get_user(sessions: Sessions, *, username: str) -> UserView:
    with sessions() as session:
        user = session.scalars(select(User).where(_by_name(username))).first()
        if user is None:
            raise NotFound(f"user {username!r} not found")
        return _user_view(user)


def principal_for(sessions: Sessions, *, username: str, version: int | None = None) -> Principal | None:
    """The current role of a signed-in person (None when removed, disabled, or when ``version``
    is not the user's session version: signed out, password changed). A session cookie carries
    only the username and version, so a role change or a disabled account applies at once."""
    with sessions() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or user.disabled or (version is not None and version != user.session_version):
        return None
    return Principal(username=user.username, role=Role(user.role), display_name=user.display_name, team=user.team)


def authenticate(sessions: Sessions, *, username: str, password: str) -> Principal | None:
    with sessions() as session:
        user = session.scalars(select(User).where(_by_name(username))).first()
        if user is None or user.disabled:
            _verify(_DUMMY_HASH, password)
            return None
        if not _verify(user.password_hash, password):
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            session.commit()
        return Principal(username=user.username, role=Role(user.role), display_name=user.display_name, team=user.team)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    sessions: Sessions,
    *,
    username: str,
    name: str,
    now: datetime,
    role: str | Role | None = None,
) -> NewToken:
    """A new API token for a user; its role defaults to the user's and can't exceed it."""
    if not name.strip():
        raise Invalid("name", "give the token a name that says what uses it")
    with sessions() as session:
        user = session.scalars(select(User).where(_by_name(username))).first()
        if user is None:
            raise NotFound(f"user {username!r} not found")
        user_role = Role(user.role)
        token_role = _parse_role(role) if role is not None else user_role
        if not user_role.allows(token_role):
            raise Invalid("role", f"a token can't have more rights than its user ({user_role.value})")
        prefix = secrets.token_hex(4)
        secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken(
            user_id=user.id,
            name=name.strip()[:100],
            prefix=prefix,
            token_hash=token_digest(secret),
            role=token_role.value,
            created_at=now,
        )
        session.add(token)
        session.commit()
        return NewToken(token=_token_view(token, user.username), secret=secret)


def verify_token(sessions: Sessions, *, secret: str, now: datetime) -> Principal | None:
    """Runs on every API request: one indexed Core query on a plain connection (plus, at most
    once a minute per token, the last-used update)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(secret)
    bind = sessions.kw.get("bind")
    query = (
        select(
            ApiToken.id,
            ApiToken.token_hash,
            ApiToken.role,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
            User.username,
            User.role.label("user_role"),
            User.display_name,
            User.team,
            User.disabled,
        )
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    )
    with (bind.connect() if bind is not None else sessions()) as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        if row.revoked_at is not None or row.disabled or not hmac.compare_digest(row.token_hash, digest):
            return None
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
            conn.commit()
    # The token's role, but never more than its user has now.
    role = min(Role(row.role), Role(row.user_role), key=lambda r: r.rank)
    return Principal(
        username=row.username,
        role=role,
        display_name=row.display_name,
        team=row.team,
        via="token",
        token_id=row.id,
    )


def list_tokens(sessions: Sessions, *, username: str | None = None) -> list[TokenView]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username is not None:
        query = query.where(User.username == username)
    with sessions() as session:
        return [_token_view(token, name) for token, name in session.execute(query)]


def revoke_token(sessions: Sessions, *, token_id: int | None = None, prefix: str | None = None, now: datetime) -> TokenView:
    """Revoke by id or by the prefix shown in listings. Revoking twice is harmless."""
    if token_id is None and not prefix:
        raise Invalid("token", "give the token's id or prefix")
    with sessions() as session:
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if token_id is not None:
            query = query.where(ApiToken.id == token_id)
        else:
            query = query.where(ApiToken.prefix == prefix)
        rows = session.execute(query).all()
        if not rows:
            raise NotFound(f"token {token_id if token_id is not None else prefix} not found")
        if len(rows) > 1:
            raise Conflict(f"prefix {prefix!r} matches {len(rows)} tokens; revoke by id")
        token, username = rows[0]
        if token.revoked_at is None:
            token.revoked_at = now
            session.commit()
        return _token_view(token, username)
