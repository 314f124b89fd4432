"""`facility-agent user add|list|disable|enable|passwd` and `token create|list|revoke`: accounts and API tokens.

A new password is read from --password-file, from $FACILITY_NEW_PASSWORD, or asked for on the
terminal; never from the command line, where it would end up in shell history. A new token is
printed once and only its hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from agent.clock import utc_now
from agent.config import AgentConfig
from agent.services import auth
from agent.services.errors import Conflict, Invalid, NotFound
from agent.storage.db import create_db_engine, session_factory

PASSWORD_ENV = "FACILITY_NEW_PASSWORD"
ROLES = ("viewer", "staff", "coordinator", "admin")


def register(sub: Any) -> None:
    user = sub.add_parser("user", help="people who sign in to the web pages")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION")
    usub.required = True
    add = usub.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--team", default="")
    add.add_argument("--password-file", type=Path, help=f"read the password from this file (or set ${PASSWORD_ENV})")
    add.set_defaults(func=run)
    lst = usub.add_parser("list", help="list users")
    lst.set_defaults(func=run)
    for action, text in (
        ("disable", "disable a user: their sessions and tokens stop working at once"),
        ("enable", "enable a disabled user (they sign in again)"),
    ):
        p = usub.add_parser(action, help=text)
        p.add_argument("username")
        p.set_defaults(func=run)
    pw = usub.add_parser("passwd", help="set a user's password (asks for it); their sessions end")
    pw.add_argument("username")
    pw.add_argument("--password-file", type=Path, help=f"read the password from this file (or set ${PASSWORD_ENV})")
    pw.set_defaults(func=run)

    token = sub.add_parser("token", help="API tokens for programs")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION")
    tsub.required = True
    create = tsub.add_parser("create", help="create a token; it is printed once")
    create.add_argument("--user", required=True, help="the user the token acts as")
    create.add_argument("--name", required=True, help="what uses the token, e.g. 'ward tablet'")
    create.add_argument("--role", choices=ROLES, help="default: the user's role (never more)")
    create.set_defaults(func=run)
    tlist = tsub.add_parser("list", help="list tokens (prefixes only)")
    tlist.add_argument("--user")
    tlist.set_defaults(func=run)
    revoke = tsub.add_parser("revoke", help="revoke a token by id or prefix")
    revoke.add_argument("token", help="the token's id, or the prefix shown by 'token list'")
    revoke.set_defaults(func=run)


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        return str(args.password_file.read_text()).strip()
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise Invalid("password", f"no terminal to ask on: use --password-file or ${PASSWORD_ENV}")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise Invalid("password", "the two passwords differ")
    return first


def run(args: argparse.Namespace, config: AgentConfig) -> int:
    engine = create_db_engine(config.database_url())
    sessions = session_factory(engine)
    try:
        return _dispatch(args, sessions)
    except (Invalid, Conflict, NotFound) as exc:
        field = f" ({exc.field})" if isinstance(exc, Invalid) else ""
        print(f"error{field}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _dispatch(args: argparse.Namespace, sessions: Any) -> int:
    if args.command == "user" and args.user_command == "add":
        user = auth.add_user(
            sessions,
            username=args.username,
            password=_password(args),
            role=args.role,
            now=utc_now(),
            display_name=args.name,
            team=args.team,
        )
        print(f"added {user.username} ({user.role.value})")
        return 0
    if args.command == "user" and args.user_command == "list":
        for u in auth.list_users(sessions):
            state = " (disabled)" if u.disabled else ""
            print(f"{u.username}\t{u.role.value}\t{u.team}\t{u.display_name}{state}")
        return 0
    if args.command == "user" and args.user_command in ("disable", "enable"):
        view = auth.set_disabled(sessions, username=args.username, disabled=args.user_command == "disable")
        print(f"{view.username} is {'disabled' if view.disabled else 'enabled'}")
        return 0
    if args.command == "user" and args.user_command == "passwd":
        auth.set_password(sessions, username=args.username, password=_password(args))
        print(f"password changed for {auth.get_user(sessions, username=args.username).username}; their sessions ended")
        return 0
    if args.command == "token" and args.token_command == "create":
        new = auth.create_token(sessions, username=args.user, name=args.name, role=args.role, now=utc_now())
        print(new.secret)
        print(
            f"token {new.token.id} ({new.token.prefix}) for {new.token.username} as {new.token.role.value}. "
            "It is shown only now; store it where the program can read it.",
            file=sys.stderr,
        )
        return 0
    if args.command == "token" and args.token_command == "list":
        for t in auth.list_tokens(sessions, username=args.user):
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            print(f"{t.id}\t{t.prefix}\t{t.username}\t{t.role.value}\t{state}\tlast used {used}\t{t.name}")
        return 0
    if args.command == "token" and args.token_command == "revoke":
        view = _revoke(sessions, args.token)
        print(f"revoked token {view.id} ({view.prefix}) of {view.username}")
        return 0
    raise AssertionError(f"unhandled command {args}")


def _revoke(sessions: Any, ident: str) -> Any:
    """By prefix (8 hex digits, or the whole token) or by id. A prefix can be all digits, so a
    prefix-shaped argument is tried as a prefix first."""
    prefix = ident.removeprefix(auth.TOKEN_PREFIX).split("_", 1)[0]
    if len(prefix) == 8 and all(c in "0123456789abcdef" for c in prefix):
        try:
            return auth.revoke_token(sessions, prefix=prefix, now=utc_now())
        except NotFound:
            if not ident.isdigit():
                raise
    if not ident.isdigit():
        raise Invalid("token", f"{ident!r} is neither a token id nor a prefix shown by 'token list'")
    return auth.revoke_token(sessions, token_id=int(ident), now=utc_now())
