"""The scenario tests' last shared helper; it moves into the harness's runbook (`Runbook.alerts`)."""

from __future__ import annotations

import sqlalchemy as sa


def service_alerts(db, service_id) -> list:  # noqa: ANN001 (a tocsin Database and a UUID)
    """The service's alerts, oldest first."""
    from tocsin.alerts.models import Alert

    with db.unit_of_work() as s:
        return list(s.execute(sa.select(Alert).where(Alert.service_id == service_id).order_by(Alert.first_seen_at))
                    .scalars())
