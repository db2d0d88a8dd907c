"""Accounts and API keys from the command line (``GLM4_AUTH=password``)::

    python -m glm4_app.users add NAME [--admin]      # asks for the password (or reads a line from stdin)
    python -m glm4_app.users passwd NAME             # a new password; the user's sessions end
    python -m glm4_app.users role NAME admin|user
    python -m glm4_app.users remove NAME             # with their sessions and API keys
    python -m glm4_app.users signout NAME            # end every session of NAME
    python -m glm4_app.users list
    python -m glm4_app.users migrate                 # accounts for the shared-password era's names
    python -m glm4_app.users key-add NAME [--label L]
    python -m glm4_app.users key-list [NAME]
    python -m glm4_app.users key-revoke ID

The database is ``GLM4_DATA_DIR/conversations.sqlite3`` (``--data-dir`` to pick another).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from .accounts import ROLES, AccountError, AccountStore, new_password
from .auth import password_owner
from .notices import Notice
from .settings import Settings, file_secrets


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings.load(secrets=file_secrets())
    store = AccountStore(settings.database)
    try:
        return COMMANDS[args.command](store, args)
    except AccountError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _add(store: AccountStore, args) -> int:
    user = store.add_user(args.name, _password(), "admin" if args.admin else "user")
    print(f"added {user.name} ({user.role})")
    return 0


def _passwd(store: AccountStore, args) -> int:
    store.set_password(args.name, _password())
    print(f"new password for {args.name}; their sessions have ended")
    return 0


def _role(store: AccountStore, args) -> int:
    store.set_role(args.name, args.role)
    print(f"{args.name} is now {args.role}")
    return 0


def _remove(store: AccountStore, args) -> int:
    if not store.remove_user(args.name):
        raise AccountError(Notice("accounts.no_such_user", name=args.name))
    print(f"removed {args.name} (their conversations stay, should the name come back)")
    return 0


def _signout(store: AccountStore, args) -> int:
    print(f"ended {store.end_all_sessions(args.name)} session(s) of {args.name}")
    return 0


def _list(store: AccountStore, args) -> int:
    for user in store.users():
        print(f"{user.name}\t{user.role}")
    return 0


def _migrate(store: AccountStore, args) -> int:
    """Accounts with fresh random passwords for every name that owns conversations from the
    shared-password mode; hand each user theirs (they can change it with ``passwd``)."""
    names = store.legacy_names()
    if not names:
        print("no names without an account own conversations: nothing to do")
    for i, name in enumerate(names):
        password = new_password()
        store.add_user(name, password, "admin" if i == 0 and store.count_users() == 0 else "user")
        print(f"{name}\t{password}")
    return 0


def _key_add(store: AccountStore, args) -> int:
    if store.user(args.name) is None:
        raise AccountError(Notice("accounts.no_such_user", name=args.name))
    secret, key = store.create_api_key(password_owner(args.name), args.label or "")
    print(f"{secret}\n(key {key.id} for {args.name}; it is not shown again)")
    return 0


def _key_list(store: AccountStore, args) -> int:
    for key in store.api_keys(password_owner(args.name) if args.name else None):
        print(f"{key.id}\t{key.owner}\t{key.shown}\t{key.label}")
    return 0


def _key_revoke(store: AccountStore, args) -> int:
    if not store.revoke_api_key(args.id):
        raise AccountError(Notice("accounts.no_such_key", id=args.id))
    print(f"revoked key {args.id}")
    return 0


COMMANDS = {
    "add": _add,
    "passwd": _passwd,
    "role": _role,
    "remove": _remove,
    "signout": _signout,
    "list": _list,
    "migrate": _migrate,
    "key-add": _key_add,
    "key-list": _key_list,
    "key-revoke": _key_revoke,
}


def _password() -> str:
    """Typed twice at a terminal; one line of stdin otherwise (scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise AccountError(Notice("accounts.passwords_differ"))
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m glm4_app.users", description="Accounts and API keys."
    )
    parser.add_argument(
        "--data-dir", type=Path, help="folder of conversations.sqlite3 (default: GLM4_DATA_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true")
    for name, text in (
        ("passwd", "set a new password"),
        ("remove", "delete an account"),
        ("signout", "end every session"),
    ):
        sub.add_parser(name, help=text).add_argument("name")
    role = sub.add_parser("role", help="make a user admin or user")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    sub.add_parser("list", help="list accounts")
    sub.add_parser(
        "migrate", help="accounts for names that own conversations from the shared-password mode"
    )
    key_add = sub.add_parser("key-add", help="create an API key for a user")
    key_add.add_argument("name")
    key_add.add_argument("--label", default="")
    sub.add_parser("key-list", help="list API keys").add_argument("name", nargs="?")
    sub.add_parser("key-revoke", help="revoke an API key").add_argument("id", type=int)
    return parser


if __name__ == "__main__":
    sys.exit(main())
