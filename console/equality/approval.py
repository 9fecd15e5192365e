"""A deployment's equality report: referenced by its plan, required by the site policy.

- A plan may name a report (``equality_report = "evidence/equality.json"``, the JSON file
  ``evaluate-matcher --json`` wrote). When the deployment is prepared the report is read
  (hostile input: size, JSON, every field checked), and the audit trail records that the
  deployment relies on it: the file's SHA-256, when it was made, the test set's hash and
  size, the matcher it measured and the operating points it covers. The deployment bar
  and the deployment's record name it from that entry.
- The site policy's ``equality_report_months`` (0: not required) makes a report a
  condition of starting: one that covers the deployment's operating point (the same
  false-alert rate, at a watchlist size within a factor of two of the deployment's),
  measured on this console's matcher (the same fingerprint), made no more than that many
  months before, and unchanged since it was referenced (the same SHA-256). A start
  refused for it is audited with the reason; an accepted one names the report. A change
  of the false-alert rate is held to the same requirement.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.domain.policy import FalseAlertRate, OperatingPointError, PolicyError, SitePolicy

if TYPE_CHECKING:
    from console.domain.deployments import Deployment
    from console.storage import Store

REFERENCED = "equality report referenced"
CHECKED = "equality report checked"
REFUSED = "refused for want of an equality report"
MAX_REPORT_BYTES = 32 * 2**20
SIZE_FACTOR = 2.0  # a report's watchlist size covers deployments within this factor


class ApprovalError(PolicyError):
    """The equality report cannot be relied on; the message says why."""


@dataclass(frozen=True)
class ReportReference:
    """What the audit trail keeps of a report a deployment relies on."""

    path: str
    sha256: str
    generated_at: str
    test_set_sha256: str
    people: int
    matcher: str
    console_version: str
    points: tuple[tuple[int, int], ...]  # (one_in, watchlist size) evaluated

    def describe(self) -> str:
        made = self.generated_at[:10]
        return (f"{Path(self.path).name}, made {made} on {self.people:,} people "
                f"(test set {self.test_set_sha256[:12]}, matcher {self.matcher})")

    def covers(self, rate: FalseAlertRate, watchlist_size: int) -> bool:
        size = max(1, watchlist_size)
        return any(
            one_in == rate.one_in and 1 / SIZE_FACTOR <= n / size <= SIZE_FACTOR
            for one_in, n in self.points
        )

    def as_details(self) -> dict[str, Any]:
        return {
            "report": self.path, "sha256": self.sha256, "generated_at": self.generated_at,
            "test_set_sha256": self.test_set_sha256, "people": self.people,
            "matcher": self.matcher, "console_version": self.console_version,
            "points": [list(p) for p in self.points],
        }

    @classmethod
    def from_details(cls, d: dict[str, Any]) -> ReportReference:
        return cls(d["report"], d["sha256"], d["generated_at"], d["test_set_sha256"],
                   int(d["people"]), d["matcher"], d["console_version"],
                   tuple((int(a), int(b)) for a, b in d["points"]))


def read_report(path: Path) -> ReportReference:
    """Read an equality report's JSON; ApprovalError says what is wrong with it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise ApprovalError(f"equality report {path.name} is {size / 2**20:,.0f} MiB: "
                                "not a report this console wrote")
        data = path.read_bytes()
    except OSError as exc:
        raise ApprovalError(f"equality report {path} cannot be read: "
                            f"{exc.strerror or exc}") from exc
    try:
        report = json.loads(data)
        generated = datetime.fromisoformat(report["generated_at"])
        if generated.tzinfo is None:
            raise ValueError("generated_at has no time zone")
        points = []
        for op in report["operating_points"]:
            rate = FalseAlertRate.parse(op["rate"])
            size = op["watchlist_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise ValueError(f"watchlist_size {size!r}")
            points.append((rate.one_in, size))
        test_set = report["test_set"]
        reference = ReportReference(
            str(path), hashlib.sha256(data).hexdigest(),
            generated.astimezone(UTC).isoformat(timespec="seconds"),
            _hex(test_set["sha256"]), _count(test_set["people"]),
            _short(report["matcher"]["id"]), _short(report["console_version"]),
            tuple(points),
        )
    except (ValueError, KeyError, TypeError, AttributeError, OperatingPointError) as exc:
        raise ApprovalError(
            f"equality report {path.name} is not a report `evaluate-matcher --json` wrote "
            f"({type(exc).__name__}: {str(exc)[:120]})"
        ) from None
    if not reference.points:
        raise ApprovalError(f"equality report {path.name} covers no operating point")
    return reference


def _hex(value: object) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(
            c not in "0123456789abcdef" for c in value):
        raise ValueError("a SHA-256 is expected")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("a count is expected")
    return value


def _short(value: object) -> str:
    if not isinstance(value, str) or len(value) > 80 or not value.isprintable():
        raise ValueError("a short printable text is expected")
    return value


def add_months(t: datetime, months: int) -> datetime:
    """*t* plus whole calendar months (the 31st of a short month: its last day)."""
    index = t.year * 12 + (t.month - 1) + months
    year, month = divmod(index, 12)
    for day in (t.day, 30, 29, 28):
        try:
            return t.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {t}")


def referenced(store: Store, reference: str) -> ReportReference | None:
    """The report the deployment relies on, from its latest audit entry (None: none)."""
    rows = store.db.query(
        "SELECT details FROM audit WHERE action = ? "
        "AND json_extract(details, '$.reference') = ? ORDER BY seq DESC LIMIT 1",
        (REFERENCED, reference),
    )
    if not rows:
        return None
    return ReportReference.from_details(json.loads(rows[0][0]))


def note_reference(store: Store, deployment: Deployment, report_path: Path | None,
                   by: str) -> ReportReference | None:
    """Record (audited) that the deployment relies on the plan's report, unless the same
    file is already recorded for it. ApprovalError if the plan's report is unusable."""
    if report_path is None:
        return referenced(store, deployment.reference)
    report = read_report(report_path)
    known = referenced(store, deployment.reference)
    if known is not None and known.sha256 == report.sha256 and known.path == report.path:
        return known
    store.audit.record(by, REFERENCED, {"reference": deployment.reference,
                                        **report.as_details()})
    return report


def check_requirement(store: Store, deployment: Deployment, rate: FalseAlertRate,
                      watchlist_size: int, policy: SitePolicy, fingerprint: str,
                      now: datetime, by: str) -> ReportReference | None:
    """The site policy's requirement, checked when a deployment starts or its rate
    changes: ApprovalError (audited) says what is missing; an accepted report is audited
    too."""
    months = policy.equality_report_months
    report = referenced(store, deployment.reference)
    if not months:
        return report
    try:
        _require(report, rate, watchlist_size, months, fingerprint, now)
    except ApprovalError as exc:
        store.audit.record(by, REFUSED, {"reference": deployment.reference,
                                         "reason": str(exc)})
        raise
    assert report is not None
    store.audit.record(by, CHECKED, {
        "reference": deployment.reference, "report": report.path, "sha256": report.sha256,
        "rate": str(rate), "watchlist_size": watchlist_size, "months": months,
    })
    return report


def _require(report: ReportReference | None, rate: FalseAlertRate, watchlist_size: int,
             months: int, fingerprint: str, now: datetime) -> None:
    point = f"{rate} against {watchlist_size:,} subjects"
    if report is None:
        raise ApprovalError(
            f"the site policy requires an equality report for the operating point ({point}) "
            f"made in the last {months} month(s); the plan names none (plan key "
            "equality_report: the JSON file `python -m console evaluate-matcher --json` "
            "writes)"
        )
    try:
        data = Path(report.path).read_bytes()
    except OSError as exc:
        raise ApprovalError(f"equality report {report.path} cannot be read: "
                            f"{exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != report.sha256:
        raise ApprovalError(
            f"equality report {Path(report.path).name} has changed since the deployment "
            "was planned on it: plan again to rely on the new file"
        )
    made = datetime.fromisoformat(report.generated_at)
    if now >= add_months(made, months):
        raise ApprovalError(
            f"equality report {Path(report.path).name} was made {made:%Y-%m-%d}: the site "
            f"policy accepts one made in the last {months} month(s)"
        )
    if report.matcher != fingerprint:
        raise ApprovalError(
            f"equality report {Path(report.path).name} measured matcher {report.matcher}; "
            f"this console's matcher is {fingerprint} (its calibration or evidence rule "
            "has changed): run the evaluation again"
        )
    if not report.covers(rate, watchlist_size):
        sizes = sorted({n for one_in, n in report.points if one_in == rate.one_in})
        low = math.ceil(watchlist_size / SIZE_FACTOR)
        high = math.floor(watchlist_size * SIZE_FACTOR)
        raise ApprovalError(
            f"equality report {Path(report.path).name} does not cover {point}: it has "
            f"{rate} at watchlist sizes {', '.join(map(str, sizes)) or 'none'}; one from "
            f"{low:,} to {high:,} is needed (evaluate-matcher --rates {rate.one_in} "
            f"--watchlist-sizes {max(1, watchlist_size)})"
        )


def check_session(session: Any) -> None:
    """The start's check for a monitoring session (``MonitoringSession.check_site_policy``
    calls it): its record, deployment, operating point, policy, clock and officer."""
    from console.equality.adapter import ShippedMatcher

    point = session.operating_point
    check_requirement(
        session.store.store, session.deployment, point.rate, point.watchlist_size,
        session.policy, str(ShippedMatcher().fingerprint()["id"]), session.now(),
        str(session.officer),
    )


def bar_text(session: Any) -> str:
    """What the deployment bar says of the equality report ("" when none is referenced
    and none is required)."""
    report = referenced(session.store.store, session.deployment.reference)
    months = session.policy.equality_report_months
    required = f" (the site policy requires one made in the last {months} month(s))" \
        if months else ""
    if report is None:
        return f"Equality report: none referenced{required}" if months else ""
    return f"Equality report: {report.describe()}{required}"


def check_rate_change(session: Any, rate: FalseAlertRate) -> None:
    """A supervisor's new rate must be covered by the report too, when the site policy
    requires one (``MonitoringSession.change_false_alert_rate`` calls it): otherwise a
    deployment could start on a covered rate and move to one no report speaks for."""
    from console.equality.adapter import ShippedMatcher

    if not session.policy.equality_report_months:
        return
    check_requirement(
        session.store.store, session.deployment, rate, max(1, len(session.watchlist)),
        session.policy, str(ShippedMatcher().fingerprint()["id"]), session.now(),
        str(session.officer),
    )
