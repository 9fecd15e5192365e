"""``python -m console officer ...``: accounts, managed by an admin who signs in.

add (the record's first admin needs no sign-in, once), list, disable (a leaver) and
enable, reset-password, unlock (clear the sign-in throttle). Every change but ``add``
takes a ``--reason``, and every change is audited with who made it and why. The admin's
sign-in here is throttled like the desk's, as a source of its own (this terminal).
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from pathlib import Path

from console.config import data_dir
from console.domain.officers import Officer, Permission, PermissionDenied, Role
from console.storage import StorageError, Store
from console.storage.key_sheet import announce

HELP = "manage officer accounts (an admin signs in first)"
COMMANDS = ("add", "list", "disable", "enable", "reset-password", "unlock")


def add_arguments(commands: argparse._SubParsersAction) -> None:
    officer = commands.add_parser("officer", help=HELP, description=__doc__)
    sub = officer.add_subparsers(dest="officer_command", required=True)
    add = sub.add_parser(
        "add",
        help="add an account: an admin signs in with --admin (the record's first admin is "
        "created without one, once)",
    )
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name, e.g. 'PC 4821 Ward'")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    _common(add, admin_required=False)
    _common(sub.add_parser("list", help="every account: role, added, disabled, refusals"))
    changes = {
        "disable": "disable an account (an officer who has left): it can no longer sign in",
        "enable": "enable a disabled account again",
        "reset-password": "set a new password for an account (asked twice at the terminal)",
        "unlock": "clear an account's sign-in throttle after a burst of wrong passwords",
    }
    for name, text in changes.items():
        change = sub.add_parser(name, help=text)
        change.add_argument("username")
        change.add_argument(
            "--reason", required=True, help="why (audited), e.g. 'left the force 2026-12-01'"
        )
        _common(change)


def _common(parser: argparse.ArgumentParser, admin_required: bool = True) -> None:
    parser.add_argument(
        "--admin",
        metavar="USERNAME",
        required=admin_required,
        help="the admin who signs in to do it",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read passwords from stdin, one a line: the admin's, then any new one",
    )
    parser.add_argument("--data-dir", type=Path)


def terminal_source() -> str:
    """Where a command-line sign-in comes from, for the throttle: this user at this
    terminal (another terminal, or the desk's window, is another source)."""
    try:
        tty = os.ttyname(sys.stdin.fileno())
    except (OSError, ValueError):
        tty = "no terminal"
    return f"command line ({getpass.getuser()}@{socket.gethostname()}, {tty})"


class Passwords:
    """Passwords from the terminal (getpass, typed twice when new), or from stdin one a
    line (--password-stdin: scripts and tests)."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin

    def existing(self, prompt: str) -> str:
        if self.from_stdin:
            return sys.stdin.readline().rstrip("\n")
        return getpass.getpass(prompt)

    def new(self, prompt: str) -> str:
        if self.from_stdin:
            return sys.stdin.readline().rstrip("\n")
        password = getpass.getpass(prompt)
        if getpass.getpass("again: ") != password:
            raise StorageError("the passwords differ")
        return password


def open_store(folder: Path) -> Store:
    """The record, showing its verification key if this made it (a new record)."""
    store = Store.in_dir(folder)
    if store.verification_key is not None:
        announce(store.verification_key, sys.stdout)
    return store


def signed_in_admin(store: Store, username: str, passwords: Passwords) -> Officer:
    admin = store.officers.authenticate(
        username, passwords.existing(f"password for admin {username}: "), terminal_source()
    )
    admin.require(Permission.MANAGE_ACCOUNTS)
    return admin


def run(args: argparse.Namespace) -> int:
    passwords = Passwords(args.password_stdin)
    store = open_store(data_dir(args.data_dir))
    try:
        if args.officer_command == "add":
            return _add(store, args, passwords)
        admin = signed_in_admin(store, args.admin, passwords)
        by = f"{admin} (command line)"
        if args.officer_command == "list":
            _list(store, admin)
            return 0
        username = args.username
        if args.officer_command in ("disable", "enable"):
            store.officers.set_disabled(
                admin, username, args.officer_command == "disable", args.reason
            )
            print(f"{username}: {args.officer_command}d by {by}")
        elif args.officer_command == "reset-password":
            password = passwords.new(f"new password for {username}: ")
            store.officers.reset_password(admin, username, password, args.reason)
            print(f"{username}: password reset by {by}")
        else:
            cleared = store.officers.clear_throttle(admin, username, args.reason)
            print(f"{username}: sign-in throttle cleared ({cleared} refusals) by {by}")
        return 0
    except PermissionDenied as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _add(store: Store, args: argparse.Namespace, passwords: Passwords) -> int:
    """A record with no admin yet gets its first one here, once: the first admin is
    created by whoever sets the record up, at the terminal."""
    if store.officers.admins() == 0:
        if args.role != Role.ADMIN.value:
            raise StorageError(
                f"{store.path} has no admin yet: create the first admin first "
                f"(`python -m console officer add USERNAME --name NAME --role admin`)"
            )
        by = f"{getpass.getuser()} (command line, first admin)"
    else:
        if not args.admin:
            raise StorageError("an admin signs in to manage accounts: give --admin USERNAME")
        by = f"{signed_in_admin(store, args.admin, passwords)} (command line)"
    officer = store.officers.add(
        args.username,
        args.name,
        Role(args.role),
        passwords.new(f"password for {args.username}: "),
        by=by,
    )
    print(f"added {officer} to {store.path}")
    return 0


def _list(store: Store, admin: Officer) -> None:
    lines = store.officers.accounts(admin)
    print(f"{'username':<16}{'role':<12}{'status':<10}{'added':<22}name")
    for line in lines:
        o = line.officer
        status = "disabled" if line.disabled else "active"
        print(f"{o.username:<16}{o.role.value:<12}{status:<10}{line.created_at[:19]:<22}"
              f"{o.display_name}")
        if line.disabled and line.status_reason:
            print(f"{'':<16}disabled: {line.status_reason}")
        if line.recent_refusals:
            print(
                f"{'':<16}{line.recent_refusals} sign-in refusals under way from "
                f"{line.sources} source(s): `officer unlock {o.username} --reason ...` "
                "clears them"
            )
