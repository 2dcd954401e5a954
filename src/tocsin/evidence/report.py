"""The custody report of an incident: a printable, standalone HTML page counsel can hand over.

Every item with its hashes, size and location, and its full custody ledger, rendered with Jinja2
(autoescaped: names and reasons are the collectors' text). There is no PDF: print the page to PDF
from a browser (its print styles are set). Served with its own CSP: inline styles only, nothing
loaded from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from tocsin.evidence import service
from tocsin.evidence.models import CustodyEntry, EvidenceItem
from tocsin.evidence.types import ORDER_OF_VOLATILITY
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class ItemLines:
    label: str
    item: EvidenceItem
    ledger: list[CustodyEntry]


@cache
def _env() -> Environment:
    return Environment(loader=PackageLoader("tocsin.evidence", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def _utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def custody_report(session: Session, *, incident: Incident, now: datetime, generated_by: str) -> str:
    """The whole report as an HTML document (the caller has checked need-to-know)."""
    items = service.list_items(session, incident)
    ledgers = service.ledgers(session, items)
    lines = [ItemLines(service.label(i), i, ledgers[i.id]) for i in items]
    return _env().get_template("custody_report.html").render(
        ref=ref(incident), incident=incident, items=lines, generated_at=_utc(now), generated_by=generated_by,
        utc=_utc, volatility=ORDER_OF_VOLATILITY)


def filename(incident: Incident) -> str:
    return f"{ref(incident)}-custody-report.html"
