"""Small helpers for the SQL the study core and the office write by hand.

Named parameters, result rows as dicts or a DataFrame: what every module that reads its
own tables with a hand-written query needs, owned by none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import sqlite_utils


def rows(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> list[dict]:
    """A query's result as a list of dicts keyed by the query's column names."""
    cursor = db.execute(sql, params if isinstance(params, Mapping) else list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def query_frame(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> pd.DataFrame:
    """A query's result as a DataFrame with the query's column names (also when empty)."""
    cursor = db.execute(sql, params if isinstance(params, Mapping) else list(params))
    names = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=names)


def in_list_sql(prefix: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """Named placeholders for an ``IN (...)`` list, added to ``params``; ``NULL`` when empty.

    Args:
        prefix: a name prefix unique within the query (parameters are ``prefix0``, ...).
        values: the values.
        params: the query's named parameters, extended in place.
    """
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f":{prefix}{i}")
    return ", ".join(names) or "NULL"
