"""The IC bench: who is trained for a role, and the exercises they passed (issue 19). To be built."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session


def record_exercise(s: Session, *, user_id: uuid.UUID, exercise_id: uuid.UUID, exercise_name: str, role: str,
                    passed: bool, score: int, now: datetime) -> None:
    """Credit a participant with an exercise they took part in, in `role` (an incidents Role value or
    "responder"); a passed exercise as Incident Commander counts towards the IC bench."""
    return None
