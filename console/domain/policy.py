"""The site policy: the safeguards no deployment plan can loosen.

A plan describes one deployment (where, when, which cameras, who authorised it); the
limits it must stay within belong to the site and change only when an admin changes
them (audited): the loosest false-alert rate a supervisor may choose, how long alerts
are kept, the largest watchlist, the longest deployment, when a waiting alert turns
red. Every value is checked when it is set and again whenever it is relied on.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from console.domain.deployments import SafeguardError


class PolicyError(SafeguardError, ValueError):
    """A value the site policy (or a plan checked against it) cannot accept."""


class OperatingPointError(PolicyError):
    """An operating point that cannot be used; the message says why in plain words."""


LOOSEST_ALLOWED_ONE_IN = 100  # no site may go looser than 1 in 100 passers-by
STRICTEST_ONE_IN = 100_000_000


@dataclass(frozen=True, order=True)
class FalseAlertRate:
    """At most one false alert in ``one_in`` passers-by (people not on the watchlist)."""

    one_in: int

    def __post_init__(self) -> None:
        if not isinstance(self.one_in, int) or isinstance(self.one_in, bool):
            raise OperatingPointError(
                f"a false-alert rate needs a whole number, not {self.one_in!r}"
            )
        if not LOOSEST_ALLOWED_ONE_IN <= self.one_in <= STRICTEST_ONE_IN:
            raise OperatingPointError(
                f"a false-alert rate of 1 in {self.one_in:,} is outside what the console "
                f"supports (1 in {LOOSEST_ALLOWED_ONE_IN:,} to 1 in {STRICTEST_ONE_IN:,})"
            )

    @property
    def per_passer_by(self) -> float:
        return 1.0 / self.one_in

    def is_looser_than(self, other: FalseAlertRate) -> bool:
        return self.one_in < other.one_in

    def __str__(self) -> str:
        return f"1 in {self.one_in:,}"

    @classmethod
    def parse(cls, value: object) -> FalseAlertRate:
        """``"1 in 10,000"``, ``"1 in 10000"`` or a whole number (10000) of passers-by."""
        if isinstance(value, bool):
            raise OperatingPointError(f"a false-alert rate cannot be {value!r}")
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str):
            text = value.strip().lower().replace(",", "").replace("_", "")
            found = re.fullmatch(r"(?:1\s*in\s*)?(\d{1,12})(?:\s*passers?-?by)?", text)
            if found:
                return cls(int(found.group(1)))
        raise OperatingPointError(
            f"a false-alert rate is written '1 in N' (for example '1 in 10000'), not {value!r}"
        )


# (smallest, largest) a site may set; the defaults are what a new site starts with.
_BOUNDS: dict[str, tuple[float, float]] = {
    "retention_days": (1, 3653),
    "max_watchlist_size": (1, 100_000),
    "max_deployment_hours": (0.25, 72),
    "pending_warning_seconds": (5, 3600),
    "max_cameras": (1, 256),
    # 0: no equality report needed; N: a start needs one for its operating point made in
    # the last N months (console.equality.approval).
    "equality_report_months": (0, 120),
    "field_port": (1024, 65535),
    "field_silence_seconds": (10, 3600),
}
# How the desk knows officers are on the ground: the desk confirms it (radio-only teams),
# or paired officers' phones are checked in (the field service, docs/field.md).
OFFICERS_PRESENT = ("manual", "checked_in")
ALL_INTERFACES = "all"
# Settings that are text: the witness off the machine (console.storage.witness), the
# field service's (docs/field.md).
_TEXT = ("witness_address", "witness_ca_file",
         "officers_present", "field_interface", "field_certificate", "field_key")
_WITNESS_ADDRESS = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]{1,253}):\d{1,5}")
# Settings that are on or off (typed as true/false, on/off, yes/no).
_SWITCHES = ("equality_monitoring",)
_WHOLE = ("retention_days", "max_watchlist_size", "max_cameras", "equality_report_months",
          "field_port")


@dataclass(frozen=True)
class SitePolicy:
    loosest_false_alert_rate: FalseAlertRate = FalseAlertRate(1_000)
    retention_days: int = 31  # alerts and decisions kept for the record, then purged
    max_watchlist_size: int = 10_000
    max_deployment_hours: float = 24.0
    pending_warning_seconds: float = 60.0  # a pending alert older than this is highlighted
    max_cameras: int = 16  # cameras in one deployment (each is a reader thread and a tile)
    # The log collector (syslog over TLS, RFC 5425) every audit head is sent to, HOST:PORT;
    # empty: none. Its certificate is checked against witness_ca_file (empty: the system's
    # certificate authorities).
    witness_address: str = ""
    witness_ca_file: str = ""
    equality_report_months: int = 0  # see _BOUNDS
    # Ask the officer recording an engagement's outcome for the person's perceived
    # ethnicity code, sex and age band (each may be "not recorded"; never required).
    equality_monitoring: bool = False
    # Officers on the ground (docs/field.md). "manual": the desk confirms, as before.
    officers_present: str = "manual"
    field_interface: str = "127.0.0.1"  # the one address it listens on; "all" for every one
    field_port: int = 8443
    field_certificate: str = ""  # the force's PEM certificate and key; "": self-signed
    field_key: str = ""
    field_silence_seconds: float = 180.0  # the last officer silent this long: cameras pause

    def __post_init__(self) -> None:
        for name, (low, high) in _BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PolicyError(f"site policy {name}: a number is needed, not {value!r}")
            if not math.isfinite(value) or not low <= value <= high:
                raise PolicyError(
                    f"site policy {name}: {value!r} is outside {low:g} to {high:g}"
                )
        for name in _SWITCHES:
            if not isinstance(getattr(self, name), bool):
                raise PolicyError(f"site policy {name}: true or false is needed")
        for name in _WHOLE:
            if not isinstance(getattr(self, name), int):
                raise PolicyError(f"site policy {name}: a whole number is needed")
        for name in _TEXT:
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > 500 or any(ord(c) < 32 for c in value):
                raise PolicyError(f"site policy {name}: one line of text is needed")
        address = self.witness_address
        port_ok = bool(_WITNESS_ADDRESS.fullmatch(address)) and (
            0 < int(address.rsplit(":", 1)[1]) < 65536
        )
        if address and not port_ok:
            raise PolicyError(
                f"site policy witness_address: HOST:PORT of the log collector, not {address!r}"
            )
        self._check_field()
        if not isinstance(self.loosest_false_alert_rate, FalseAlertRate):
            raise PolicyError("site policy loosest_false_alert_rate: '1 in N' is needed")

    def _check_field(self) -> None:
        if self.officers_present not in OFFICERS_PRESENT:
            raise PolicyError(
                f"site policy officers_present: {self.officers_present!r} is not one of "
                f"{', '.join(OFFICERS_PRESENT)}"
            )
        if self.field_interface != ALL_INTERFACES:
            try:
                address = ipaddress.ip_address(self.field_interface)
            except ValueError:
                raise PolicyError(
                    f"site policy field_interface: {self.field_interface!r} is not an IP "
                    f"address (or '{ALL_INTERFACES}' for every interface)"
                ) from None
            if address.is_unspecified:
                raise PolicyError(
                    f"site policy field_interface: {self.field_interface} means every "
                    f"interface: write '{ALL_INTERFACES}' if that is meant"
                )
        if bool(self.field_certificate) != bool(self.field_key):
            raise PolicyError(
                "site policy field_certificate and field_key: name both (the force's "
                "certificate and its key) or neither (a self-signed certificate)"
            )

    @property
    def officers_checked_in(self) -> bool:
        """The cameras run only while a paired officer's phone is checked in."""
        return self.officers_present == "checked_in"

    def check_rate(self, rate: FalseAlertRate) -> None:
        """A supervisor may choose any rate at least as strict as the site's loosest."""
        if rate.is_looser_than(self.loosest_false_alert_rate):
            raise PolicyError(
                f"a false-alert rate of {rate} passers-by is looser than the site policy "
                f"allows (at most {self.loosest_false_alert_rate})"
            )

    def check_cameras(self, count: int) -> None:
        """A deployment runs at most the site's number of cameras."""
        if count > self.max_cameras:
            raise PolicyError(
                f"{count:,} cameras in one deployment are more than the site policy allows "
                f"(at most {self.max_cameras})"
            )

    def check_duration(self, hours: float) -> None:
        if not math.isfinite(hours) or not 0 < hours <= self.max_deployment_hours:
            raise PolicyError(
                f"a deployment of {hours:g} hours is not allowed: the site policy allows "
                f"up to {self.max_deployment_hours:g} hours"
            )

    def to_mapping(self) -> dict[str, Any]:
        data = asdict(self)
        data["loosest_false_alert_rate"] = str(self.loosest_false_alert_rate)
        return data

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> SitePolicy:
        """Build a policy from stored or typed-in values; every fault names its key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyError(
                f"site policy has no setting {', '.join(map(repr, unknown))} "
                f"(settings: {', '.join(sorted(known))})"
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "loosest_false_alert_rate":
                try:
                    values[key] = FalseAlertRate.parse(value)
                except OperatingPointError as exc:
                    raise PolicyError(f"site policy {key}: {exc}") from exc
            elif key in _TEXT:
                values[key] = value.strip() if isinstance(value, str) else value
            elif key in _SWITCHES:
                values[key] = _switch(key, value)
            else:
                values[key] = _number(key, value, whole=key in _WHOLE)
        return cls(**values)


def _switch(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise PolicyError(f"site policy {key}: {value!r} is not true or false")


def _number(key: str, value: object, whole: bool) -> int | float:
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not whole else int(value.strip())
        except ValueError:
            raise PolicyError(f"site policy {key}: {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"site policy {key}: {value!r} is not a number")
    if whole:
        if isinstance(value, float):
            if not value.is_integer():
                raise PolicyError(f"site policy {key}: a whole number is needed, not {value!r}")
            value = int(value)
        return value
    return float(value)
