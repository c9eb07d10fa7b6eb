"""Seeding areas into a database left at an older revision: with the columns areas had then (the ORM
models describe the newest revision, which added ``areas.successors`` in 0009)."""

import json

from sqlalchemy import Connection, text

from storage.repositories import areas


def insert_legacy_areas(conn: Connection) -> None:
    """The pre-2025 pilot list, parents first."""
    tree = areas.read_area_csv(seed=areas.LEGACY_SEED)
    conn.execute(text("INSERT INTO areas (code, name, level, parent_code, languages) "
                      "VALUES (:code, :name, :level, :parent, :languages)"),
                 [{"code": a.code, "name": a.name, "level": a.level.value, "parent": a.parent_code,
                   "languages": json.dumps(list(a.languages))}
                  for a in sorted(tree.values(), key=lambda a: a.level.rank)])
