"""Pairing a phone to an officer on the ground: one-time codes, tokens, and the limits
that make guessing a code hopeless.

- A supervisor issues a code for a named officer: 8 characters from an alphabet without
  look-alikes (31^8, about 8.5e11), valid for 2 minutes, good for one pairing. Issuing a
  new code for an officer voids their previous one.
- A code exchanged for a phone's token is spent; a wrong, expired or spent code is refused
  the same way (the reply tells an attacker nothing).
- Wrong codes are limited: ``PER_SOURCE`` from one address within ``WINDOW_S`` locks that
  address out for ``LOCKOUT_S``; ``OVERALL`` wrong codes from anywhere within the window
  void every outstanding code and suspend pairing until a supervisor issues a new code.
- Tokens are 256-bit random; only their SHA-256 is kept (in memory and in the audit
  trail). Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
CODE_LIFETIME_S = 120.0
WINDOW_S = 600.0
PER_SOURCE = 5
LOCKOUT_S = 600.0
OVERALL = 20


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise(code: str) -> str:
    """What an officer typed: case, spaces and dashes do not matter."""
    return "".join(c for c in code.upper() if c.isalnum())[: CODE_LENGTH * 2]


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


@dataclass
class _Code:
    code: str
    officer: str
    issued_by: str
    expires: float


class PairingRefused(Exception):
    """A code was not accepted; ``why`` is for the audit trail, the message for the phone."""

    def __init__(self, message: str, why: str, locked: bool = False) -> None:
        super().__init__(message)
        self.why = why
        self.locked = locked


@dataclass
class Pairing:
    """Codes outstanding and the guessing limits. Plain Python; the clock is injectable."""

    clock: Callable[[], float] = time.monotonic
    _codes: dict[str, _Code] = field(default_factory=dict)
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _all_failures: deque[float] = field(default_factory=deque)
    _locked_until: dict[str, float] = field(default_factory=dict)
    suspended: bool = False

    def issue(self, officer: str, by: str) -> tuple[str, float]:
        """A new code for *officer* (their older one is void); the code and its lifetime."""
        self._codes = {c: v for c, v in self._codes.items() if v.officer != officer}
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        self._codes[code] = _Code(code, officer, by, self.clock() + CODE_LIFETIME_S)
        self.suspended = False  # a supervisor is at the desk and chose to pair
        return code, CODE_LIFETIME_S

    def redeem(self, typed: str, source: str) -> tuple[str, str]:
        """Spend a code: (officer, issued by). PairingRefused otherwise."""
        now = self.clock()
        if self._locked_until.get(source, 0) > now:
            raise PairingRefused(
                "Too many wrong codes from this phone: wait 10 minutes, then ask the desk "
                "for a new code.", "locked out", locked=True,
            )
        if self.suspended:
            raise PairingRefused(
                "Pairing is suspended after many wrong codes: ask the desk for a new code.",
                "pairing suspended", locked=True,
            )
        code = normalise(typed)
        found = None
        for candidate in list(self._codes.values()):
            if candidate.expires <= now:
                del self._codes[candidate.code]
            elif hmac.compare_digest(candidate.code, code):
                found = candidate
        if found is None:
            raise self._failed(source, now)
        del self._codes[found.code]  # single use
        return found.officer, found.issued_by

    def _failed(self, source: str, now: float) -> PairingRefused:
        mine = self._failures.setdefault(source, deque())
        for times in (mine, self._all_failures):
            times.append(now)
            while times and now - times[0] > WINDOW_S:
                times.popleft()
        if len(self._all_failures) >= OVERALL:
            self._codes.clear()
            self.suspended = True
            return PairingRefused(
                "Pairing is suspended after many wrong codes: ask the desk for a new code.",
                f"{len(self._all_failures)} wrong codes within {WINDOW_S / 60:.0f} minutes: "
                "every code voided, pairing suspended", locked=True,
            )
        if len(mine) >= PER_SOURCE:
            self._locked_until[source] = now + LOCKOUT_S
            mine.clear()
            return PairingRefused(
                "Too many wrong codes from this phone: wait 10 minutes, then ask the desk "
                "for a new code.",
                f"{PER_SOURCE} wrong codes: locked out for {LOCKOUT_S / 60:.0f} minutes",
                locked=True,
            )
        return PairingRefused(
            "That code is wrong, has expired or was already used: ask the desk for a new one.",
            "wrong, expired or spent code",
        )

    def outstanding(self) -> list[tuple[str, str, float]]:
        """(officer, code, seconds left) of the codes still valid."""
        now = self.clock()
        return [(c.officer, c.code, c.expires - now) for c in self._codes.values()
                if c.expires > now]

    def void(self) -> None:
        self._codes.clear()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_device_id() -> str:
    return secrets.token_hex(3)
