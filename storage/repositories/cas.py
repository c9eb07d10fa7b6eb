"""Compare-and-set status writes shared by the repositories with state machines."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.errors import InvalidTransition
from storage.db import rowcount


def compare_and_set(
    session: Session, rec: Any, machine: str, current: str, target: str, values: dict[str, Any]
) -> None:
    """Write ``values`` to ``rec``'s row only if its status is still ``current``.

    Two transactions that read the same status cannot both move it: the second gets InvalidTransition
    (naming the status it found) instead of silently overwriting the first one's write.
    """
    model = type(rec)
    result = session.execute(
        update(model).where(model.id == rec.id, model.status == current)
        .values(**values).execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        session.refresh(rec)
        raise InvalidTransition(machine, f"{current} (now {rec.status})", target)
    for key, value in values.items():
        set_committed_value(rec, key, value)
