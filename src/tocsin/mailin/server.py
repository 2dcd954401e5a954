"""The inbound SMTP listener (aiosmtpd): mail to an email integration's address becomes an alert.

An address is `<key>@<TOCSIN_MAIL_DOMAIN>` (a `+tag` after the key is ignored); the key is the
integration's, stored hashed like every key. The listener

- refuses, at RCPT time, any address that is not an email integration's (550), and more than
  MAX_RECIPIENTS recipients (452);
- refuses messages over TOCSIN_MAIL_MAX_BYTES (aiosmtpd's SIZE limit: 552);
- answers 250 only once the alert is durably stored: each message goes through the ingest
  writer (`tocsin.ingest.writer`), which answers after its commit. A storage failure answers 451,
  so the sending server keeps the message and retries; so does any other failure (aiosmtpd's own
  answer to a handler's exception is a permanent 500 quoting it, which would lose the alert);
- maps and stores a message once per integration, however many of its addresses (`+tags`) it
  was sent to.

It speaks plain SMTP without TLS or AUTH: run it behind the organisation's MTA, or on a port only
that MTA (or the monitoring tools) reach. `tocsin serve` starts it when TOCSIN_MAIL_LISTEN is set.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tocsin.db import Database
from tocsin.inbound import mail
from tocsin.ingest.types import Job, Reply
from tocsin.ingest.writer import IngestWriter
from tocsin.integrations.models import Integration
from tocsin.keys import key_hash

log = logging.getLogger("tocsin.mailin")

MAX_RECIPIENTS = 50
_TRY_LATER = "451 4.3.0 The alert could not be stored; try again later"
_RULES: dict[tuple[uuid.UUID, bytes], mail.Rules] = {}


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:2525`) as (host, port); raise ValueError."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"TOCSIN_MAIL_LISTEN must be host:port, not {value!r}")
    return host.strip("[]"), int(port)


def local_key(address: str, domain: str) -> str | None:
    """The key an address carries, or None when it is not at `domain`."""
    local, at, host = address.strip().strip("<>").rpartition("@")
    if not at or host.lower().rstrip(".") != domain.lower().rstrip(".") or not local:
        return None
    return local.split("+", 1)[0].lower()  # keys are lower-case hex; some MTAs change the case of local parts


class MailHandler:
    """aiosmtpd handler: RCPT checks the address, DATA stores the alert before answering."""

    def __init__(self, db: Database, writer: IngestWriter, domain: str) -> None:
        self.db, self.writer, self.domain = db, writer, domain

    def _lookup(self, key: str) -> tuple[uuid.UUID, dict[str, Any]] | None:
        with self.db.unit_of_work() as session:
            row = session.execute(sa.select(Integration.id, Integration.config).where(
                Integration.key_hash == key_hash(key), Integration.type == "email")).first()
        return None if row is None else (row[0], dict(row[1] or {}))

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            return await self._rcpt(envelope, address)
        except Exception:
            log.exception("checking a mail recipient failed")
            return _TRY_LATER

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            return await self._data(envelope)
        except Exception:
            log.exception("storing a mail as an alert failed")
            return _TRY_LATER

    async def _rcpt(self, envelope: Envelope, address: str) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        key = local_key(address, self.domain)
        if key is None or await asyncio.to_thread(self._lookup, key) is None:
            return "550 5.1.1 No such alert address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def _data(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        jobs: list[Job] = []
        keys = dict.fromkeys(k for k in (local_key(a, self.domain) for a in envelope.rcpt_tos) if k)
        for key in keys:  # key+a@ and key+b@ are one integration: one alert, not one per tag
            found = await asyncio.to_thread(self._lookup, key)
            if found is None:
                continue  # deleted since RCPT: nothing to deliver to
            rules = _rules(*found)
            if rules is None:
                return "451 4.3.0 This address's rules are invalid; fix them in tocsin"
            # Operator regexes run here, off the event loop and off the ingest writer's thread.
            event = await asyncio.to_thread(mail.map_message, rules, raw)
            jobs.append(Job("email", b"", key=key, mapped=[event]))
        if not jobs:
            return "550 5.1.1 No such alert address here"
        replies: list[Reply] = await asyncio.gather(*(self.writer.reply(job) for job in jobs))
        if any(r.status >= 500 for r in replies):
            return _TRY_LATER
        if all(r.status == 404 for r in replies):
            return "550 5.1.1 No such alert address here"
        if any(400 <= r.status < 500 and r.status != 404 for r in replies):
            return "554 5.6.0 The message could not be turned into an alert"
        return "250 2.0.0 Alert stored"


def _rules(integration_id: uuid.UUID, config: dict[str, Any]) -> mail.Rules | None:
    key = (integration_id, orjson.dumps(config, option=orjson.OPT_SORT_KEYS))
    found = _RULES.get(key)
    if found is None:
        if len(_RULES) > 1000:
            _RULES.clear()
        try:
            found = _RULES[key] = mail.validate_rules(config)
        except ValueError:  # validated when saved; only a hand-edited row gets here
            log.exception("email integration %s has invalid rules", integration_id)
            return None
    return found


class MailListener:
    """The running listener (an aiosmtpd Controller: its own thread and event loop)."""

    def __init__(self, db: Database, writer: IngestWriter, *, listen: str, domain: str, max_bytes: int) -> None:
        if not domain or "." not in domain and domain != "localhost":
            raise ValueError("TOCSIN_MAIL_DOMAIN must be set to the domain of alert addresses, e.g. alerts.example.com")
        host, port = parse_listen(listen)
        self.handler = MailHandler(db, writer, domain.strip().lower())
        self.controller = Controller(self.handler, hostname=host, port=port, server_hostname=domain,
                                     ident="tocsin", data_size_limit=max_bytes)
        self.address = (host, port)

    def start(self) -> MailListener:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def from_settings(db: Database, writer: IngestWriter, settings: Any) -> MailListener:
    """The listener TOCSIN_MAIL_LISTEN asks for, started; raise ValueError for bad settings."""
    return MailListener(db, writer, listen=settings.mail_listen, domain=settings.mail_domain or "",
                        max_bytes=settings.mail_max_bytes).start()
