"""Officers, their roles, what each role may do, and how passwords are kept.

Roles follow the console's users: an operator adjudicates alerts; a supervisor also
changes thresholds, approves overrides and concludes deployments; a trainer runs
scenario replays; an admin manages accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"
    ADMIN = "admin"


class Permission(StrEnum):
    ADJUDICATE = "adjudicate"
    START_DEPLOYMENT = "start a deployment"
    CONCLUDE_DEPLOYMENT = "conclude a deployment"
    CHANGE_THRESHOLD = "change the false-alert rate"
    OVERRIDE = "override a watchlist safeguard"
    IMPORT_WATCHLIST = "import a watchlist"
    RUN_SCENARIOS = "run scenario replays"
    MANAGE_ACCOUNTS = "manage accounts"
    MANAGE_POLICY = "change the site policy"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(
        {Permission.ADJUDICATE, Permission.START_DEPLOYMENT, Permission.IMPORT_WATCHLIST}
    ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.ADJUDICATE,
            Permission.START_DEPLOYMENT,
            Permission.IMPORT_WATCHLIST,
            Permission.CONCLUDE_DEPLOYMENT,
            Permission.CHANGE_THRESHOLD,
            Permission.OVERRIDE,
        }
    ),
    Role.TRAINER: frozenset({Permission.RUN_SCENARIOS}),
    Role.ADMIN: frozenset({Permission.MANAGE_ACCOUNTS, Permission.MANAGE_POLICY}),
}


class PermissionDenied(Exception):
    """The officer's role does not allow the action; the message says which role does."""


@dataclass(frozen=True)
class Officer:
    username: str
    display_name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            allowed = ", ".join(r.value for r, grants in GRANTS.items() if permission in grants)
            raise PermissionDenied(
                f"{self.display_name} ({self.role.value}) may not {permission.value}: "
                f"it needs a {allowed}"
            )

    def __str__(self) -> str:
        return f"{self.display_name} ({self.username}, {self.role.value})"


# scrypt is memory-hard (n=2^14, r=8: 16 MiB a hash), in the standard library, and its
# parameters travel with the hash so they can be raised later without locking anyone out.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(),
        salt=bytes.fromhex(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=64 * 2**20,
    )
    return hmac.compare_digest(candidate.hex(), digest)


# -- password policy ----------------------------------------------------------------------
# NCSC and NIST SP 800-63B: length and a check against known-common passwords, not
# composition rules. 12 characters: three random words, or a phrase an officer remembers.
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why."""


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords attackers try first (lower case, one a line)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def check_password(password: str, username: str = "") -> None:
    """Refuse a password that is short, repetitive, the username, or a common password
    (also with digits or symbols added before or after, e.g. "Password1234!")."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 5 or not password.strip():
        raise WeakPassword("a password needs more than a few different characters")
    lowered = password.lower()
    padding = string.digits + string.punctuation + string.whitespace
    core = lowered.strip(padding)
    if username and username.lower() in (lowered, core):
        raise WeakPassword("a password may not be the username")
    if not core or lowered in common_passwords() or core in common_passwords():
        raise WeakPassword("that password is on the list of common passwords")


@cache
def dummy_hash() -> str:
    """A hash of a random password, made once per process."""
    return hash_password(secrets.token_hex(16))


def verify_against_dummy(password: str) -> bool:
    """The same scrypt work as a real check, for a username that does not exist: the
    time taken must not tell an attacker which usernames are real. Always False."""
    verify_password(password, dummy_hash())
    return False


# -- account changes ----------------------------------------------------------------------
MAX_REASON = 500
_CONTROL = frozenset(
    [chr(c) for c in range(0x20)] + ["\x7f", "\u200e", "\u200f", "\u061c"]
    + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)


def account_reason(reason: str) -> str:
    """The reason an admin gives for changing an account (disabling a leaver, resetting a
    password, clearing a throttle): it goes into the audit trail, so it is required, one
    line and short. ValueError (a StorageError at the storage layer) says what is wrong."""
    text = (reason or "").strip()
    if not text:
        raise AccountReasonError("a reason is needed for a change to an account (it is audited)")
    if len(text) > MAX_REASON:
        raise AccountReasonError(f"a reason is at most {MAX_REASON} characters")
    if any(ch in _CONTROL for ch in text):
        raise AccountReasonError("a reason is one line of plain text (no control characters)")
    return text


class AccountReasonError(ValueError):
    """A reason for an account change that cannot be audited as given."""
