"""The site policy in the record: one row, bound into the audit trail when it changes.

Until an admin sets one, the site runs on the defaults of ``SitePolicy``. The row is
bound into the keyed audit chain by its digest, so ``audit verify`` finds an edit made
behind the console's back, and reading it checks the same: a tampered policy is refused
rather than obeyed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from console.domain.officers import Officer, Permission
from console.domain.policy import PolicyError, SitePolicy
from console.storage.audit import AuditTrail, row_digest
from console.storage.database import Database, StorageError

TABLE = "site_policy"


class PolicyRecords:
    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit

    def current(self) -> SitePolicy:
        """The policy in force; StorageError if the stored one is not what was audited."""
        rows = self.db.query(f"SELECT settings FROM {TABLE} WHERE id = 1")
        if not rows:
            return SitePolicy()
        with self.db.transaction() as conn:
            now = row_digest(conn, TABLE, "1")
            bound = conn.execute(
                "SELECT bound FROM audit WHERE action = 'site policy changed' "
                "ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        audited = json.loads(bound[0]).get(TABLE, {}).get("1") if bound else None
        if audited != now:
            raise StorageError(
                "the site policy in the record is not the one its audit entry recorded: "
                "it has been changed outside the console, so it is not used "
                "(an admin must set it again)"
            )
        try:
            return SitePolicy.from_mapping(json.loads(rows[0][0]))
        except (PolicyError, ValueError) as exc:
            raise StorageError(f"the stored site policy cannot be used: {exc}") from exc

    def change(self, officer: Officer, **settings: object) -> SitePolicy:
        """An admin changes some settings (typed-in text or values); audited old -> new."""
        officer.require(Permission.MANAGE_POLICY)
        old = self.current()
        new = SitePolicy.from_mapping({**old.to_mapping(), **settings})
        changed = {
            k: {"old": v, "new": new.to_mapping()[k]}
            for k, v in old.to_mapping().items()
            if new.to_mapping()[k] != v
        }
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {TABLE} (id, settings, set_by, set_at) VALUES (1,?,?,?)",
                (json.dumps(new.to_mapping(), sort_keys=True), str(officer),
                 datetime.now(UTC).isoformat()),
            )
            self.audit.append(
                conn, str(officer), "site policy changed", {"changed": changed},
                rows=[(TABLE, "1")],
            )
        return new
