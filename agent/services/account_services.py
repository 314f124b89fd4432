"""The accounts part of AppServices (api.ports.Accounts): sign-in, sessions, users and tokens.

Who a token or a signed-in user is gets reused for a moment (``_principals``); every change made
through these methods forgets it at once, and one made elsewhere (the CLI) applies within its TTL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from agent.services import auth
from agent.services.reuse import Expiring
from agent.services.translate import translated as _translated
from rules.views import NewToken, Principal, TokenView, UserView


class AccountServices:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    _principals: Expiring[Principal]

    def authenticate(self, username: str, password: str) -> Principal | None:
        return auth.authenticate(self.sessions, username=username, password=password)

    def principal_for(self, username: str, version: int | None = None) -> Principal | None:
        principal = auth.principal_for(self.sessions, username=username, version=version)
        if principal is not None:
            self._principals.put(("user", username, version), principal)
        else:
            self._principals.forget(("user", username, version))
        return principal

    def session_version(self, username: str) -> int | None:
        return auth.session_version(self.sessions, username=username)

    def end_sessions(self, username: str) -> None:
        auth.end_sessions(self.sessions, username=username)
        self._principals.clear()

    @_translated
    def set_password(self, *, username: str, password: str) -> UserView:
        auth.set_password(self.sessions, username=username, password=password)
        self._principals.clear()
        return auth.get_user(self.sessions, username=username)

    @_translated
    def set_disabled(self, *, username: str, disabled: bool) -> UserView:
        view = auth.set_disabled(self.sessions, username=username, disabled=disabled)
        self._principals.clear()
        return view

    def verify_token(self, secret: str) -> Principal | None:
        principal = auth.verify_token(self.sessions, secret=secret, now=self.clock())
        key = ("token", auth.token_digest(secret))
        if principal is not None:
            self._principals.put(key, principal)
        else:  # unknown and revoked tokens are not remembered: they can't fill memory
            self._principals.forget(key)
        return principal

    def recent_principal(
        self, *, token: str | None = None, username: str | None = None, version: int | None = None
    ) -> tuple[bool, Principal | None]:
        if token is not None:
            return self._principals.get(("token", auth.token_digest(token)))
        if username is not None:
            return self._principals.get(("user", username, version))
        return False, None

    @_translated
    def list_users(self) -> list[UserView]:
        return auth.list_users(self.sessions)

    @_translated
    def add_user(self, *, username: str, password: str, role: str, display_name: str, team: str) -> UserView:
        return auth.add_user(
            self.sessions,
            username=username,
            password=password,
            role=role,
            now=self.clock(),
            display_name=display_name,
            team=team,
        )

    @_translated
    def create_token(self, *, username: str, name: str, role: str | None) -> NewToken:
        return auth.create_token(self.sessions, username=username, name=name, role=role, now=self.clock())

    @_translated
    def list_tokens(self, *, username: str | None) -> list[TokenView]:
        return auth.list_tokens(self.sessions, username=username)

    @_translated
    def revoke_token(self, token_id: int) -> TokenView:
        revoked = auth.revoke_token(self.sessions, token_id=token_id, now=self.clock())
        self._principals.clear()
        return revoked

