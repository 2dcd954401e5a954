"""Role handbooks: a short Markdown page per incident role (what the role does and does not do, its
first five minutes, its handover), shown to people when they take a role and in the room.

The shipped defaults are `templates/<role>.md`; an admin's edit is a `role_handbooks` row that
wins until it is reset. Changes are audited. Rendering is the postmortems' Markdown (CommonMark,
raw HTML escaped, unsafe link schemes refused), with headings moved down where a page shows a handbook
under its own headings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import InvalidInput, NotFound
from tocsin.handbooks.models import RoleHandbook
from tocsin.incidents.roles import ROLE_LABELS
from tocsin.incidents.types import Role
from tocsin.principal import OrgRole, Principal
from tocsin.users.models import User

MAX_BODY = 50_000


@dataclass(frozen=True)
class Handbook:
    role: Role
    label: str
    body_md: str
    edited: bool  # False: the shipped default
    updated_at: datetime | None = None
    updated_by: str | None = None  # a name

    @property
    def html(self) -> Markup:
        return render(self.body_md)


def role_of(value: str) -> Role:
    """The Role named `value`; NotFound for any other."""
    try:
        return Role(value)
    except ValueError:
        raise NotFound(f"no role {value[:64]!r}", details={"role": value[:64]}) from None


@cache
def default(role: Role) -> str:
    """The shipped handbook of `role`."""
    return (files("tocsin.handbooks") / "templates" / f"{role.value}.md").read_text(encoding="utf-8")


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render(body_md: str, *, below: int = 0) -> Markup:
    """The handbook as HTML (raw HTML in it escaped, javascript: and the like not linked); `below`
    moves every heading that many levels down (a handbook under the page's h3: below=3)."""
    md = _markdown()
    tokens = md.parse(body_md)
    if below:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) + below)}"
    return Markup(md.renderer.render(tokens, md.options, {}))


def _handbook(s: Session, role: Role, row: RoleHandbook | None) -> Handbook:
    if row is None:
        return Handbook(role, ROLE_LABELS[role], default(role), edited=False)
    by = s.get(User, row.updated_by_id) if row.updated_by_id is not None else None
    return Handbook(role, ROLE_LABELS[role], row.body_md, edited=True, updated_at=row.updated_at,
                    updated_by=by.name if by is not None else None)


def get(s: Session, role: Role) -> Handbook:
    return _handbook(s, role, s.get(RoleHandbook, role.value))


def list_all(s: Session) -> list[Handbook]:
    rows = {r.role: r for r in s.query(RoleHandbook).all()}
    return [_handbook(s, role, rows.get(role.value)) for role in Role]


def put(s: Session, *, role: Role, body_md: str, actor: Principal, now: datetime) -> Handbook:
    """Replace the role's handbook (admin); InvalidInput for an empty or too long body."""
    actor.require(OrgRole.admin, "editing role handbooks")
    body = body_md.replace("\r\n", "\n").strip()
    if not body:
        raise InvalidInput("a handbook needs some text (reset it to go back to the shipped one)",
                           details={"field": "body_md"})
    if len(body) > MAX_BODY:
        raise InvalidInput(f"a handbook has at most {MAX_BODY} characters", details={"field": "body_md"})
    row = s.get(RoleHandbook, role.value)
    before = row.body_md if row is not None else None
    if row is None:
        row = RoleHandbook(role=role.value, body_md=body, updated_at=now, updated_by_id=actor.user_id)
        s.add(row)
    else:
        row.body_md, row.updated_at, row.updated_by_id = body, now, actor.user_id
    s.flush()
    record(s, actor=actor, action="handbook.update", target_type="role_handbook", target_id=role.value, now=now,
           details={"role": role.value, "was_default": before is None, "chars": len(body)})
    return get(s, role)


def reset(s: Session, *, role: Role, actor: Principal, now: datetime) -> Handbook:
    """Go back to the shipped handbook (admin)."""
    actor.require(OrgRole.admin, "editing role handbooks")
    row = s.get(RoleHandbook, role.value)
    if row is not None:
        s.delete(row)
        s.flush()
        record(s, actor=actor, action="handbook.reset", target_type="role_handbook", target_id=role.value, now=now,
               details={"role": role.value})
    return get(s, role)
