"""The IC bench: who is trained for a role (an admin marks it), and the exercises people took
part in (credited by the exercises runner through `record_exercise`). A passed exercise as
Incident Commander shows on the bench, next to the trained mark, so an admin can decide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.handbooks.models import ExerciseCredit, RoleTraining
from tocsin.incidents.types import Role
from tocsin.principal import OrgRole, Principal
from tocsin.users.models import User

RESPONDER = "responder"  # an exercise participant without a role
MAX_NAME = 200


def record_exercise(s: Session, *, user_id: uuid.UUID, exercise_id: uuid.UUID, exercise_name: str, role: str,
                    passed: bool, score: int, now: datetime) -> None:
    """Credit a participant with an exercise they took part in, in `role` (an incidents Role value or
    "responder"); a passed exercise as Incident Commander counts towards the IC bench. Recording the
    same exercise and role again updates the credit (a re-scored run counts once)."""
    row = s.execute(sa.select(ExerciseCredit).where(
        ExerciseCredit.user_id == user_id, ExerciseCredit.exercise_id == exercise_id,
        ExerciseCredit.role == role[:32])).scalar_one_or_none()
    if row is None:
        s.add(ExerciseCredit(user_id=user_id, exercise_id=exercise_id, exercise_name=exercise_name[:MAX_NAME],
                             role=role[:32], passed=passed, score=score, at=now))
    else:
        row.exercise_name, row.passed, row.score, row.at = exercise_name[:MAX_NAME], passed, score, now
    s.flush()


def set_trained(s: Session, *, user: User, role: Role, trained: bool, actor: Principal, now: datetime) -> RoleTraining:
    """Mark `user` trained (or not) for `role` (admin); audited."""
    actor.require(OrgRole.admin, "marking people trained")
    row = s.get(RoleTraining, (user.id, role.value))
    if row is None:
        row = RoleTraining(user_id=user.id, role=role.value, trained=False)
        s.add(row)
    was = row.trained
    row.trained, row.marked_by_id = trained, actor.user_id
    row.trained_at = (row.trained_at if was else now) if trained else None
    s.flush()
    if was != trained:
        record(s, actor=actor, action="bench.trained" if trained else "bench.untrained", target_type="user",
               target_id=user.id, now=now, details={"role": role.value, "email": user.email})
    return row


@dataclass
class Credit:
    exercise_id: uuid.UUID
    name: str
    passed: bool
    score: int
    at: datetime


@dataclass
class BenchRow:
    user: User
    trained: bool
    trained_at: datetime | None
    passed: list[Credit] = field(default_factory=list)  # exercises passed in the role, newest first


def bench(s: Session, role: Role = Role.incident_commander) -> list[BenchRow]:
    """Everyone marked for `role` or who passed an exercise in it: trained first, then by name."""
    trained = {r.user_id: r for r in s.execute(sa.select(RoleTraining).where(RoleTraining.role == role.value)).scalars()}
    credits: dict[uuid.UUID, list[Credit]] = {}
    for c in s.execute(sa.select(ExerciseCredit).where(ExerciseCredit.role == role.value, ExerciseCredit.passed.is_(True))
                       .order_by(ExerciseCredit.at.desc())).scalars():
        credits.setdefault(c.user_id, []).append(Credit(c.exercise_id, c.exercise_name, c.passed, c.score, c.at))
    ids = set(trained) | set(credits)
    users = {u.id: u for u in s.execute(sa.select(User).where(User.id.in_(ids))).scalars()} if ids else {}
    rows = [BenchRow(users[uid], trained[uid].trained if uid in trained else False,
                     trained[uid].trained_at if uid in trained else None, credits.get(uid, []))
            for uid in ids if uid in users and (uid in credits or trained[uid].trained)]
    return sorted(rows, key=lambda r: (not r.trained, r.user.name.lower(), r.user.email))


def is_trained(s: Session, user_id: uuid.UUID, role: Role = Role.incident_commander) -> bool:
    row = s.get(RoleTraining, (user_id, role.value))
    return row is not None and row.trained
