"""PostgreSQL behind the subset of the sqlite-utils Database/Table API that storage and migrations use.

`PgPool` lends one pooled psycopg 3 connection per call, wrapped in `PgDatabase`, so the storage
methods and the migrations in `migrations.py` run unchanged on either backend. What differs is
handled here and nowhere else:

* `?` placeholders become `%s` (a literal `%` becomes `%%`); `insert or ignore` becomes
  `… on conflict do nothing`; `rowid`, `insert or replace`, `replace into` and `pragma` are refused
  with an error naming the construct (they have no faithful PostgreSQL form).
* Parameters bind loosely, as SQLite's column affinity does: ints and bools are sent untyped, so
  `text_column = 5` and `int_column = True` compare as they would in SQLite; a NUL character
  (which PostgreSQL text cannot hold) becomes U+FFFD.
* `json_extract`, `group_concat`, `ifnull` and `datetime` exist as SQL functions (`ensure_compat`).
* A single integer primary key is an identity column (SQLite's rowid alias); `order_by="rowid"`
  orders by the primary key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from sqlite_utils.db import NotFoundError, jsonify_if_needed

POOL_SIZE = 8  # connections per process: the event loop's worker threads share them
CONNECT_SECONDS = 10
MIGRATION_LOCK = 0x71CB07  # pg_advisory_lock key: one process migrates at a time

_TYPES: dict[Any, str] = {
    str: "text", int: "bigint", float: "double precision", bytes: "bytea", bool: "bigint",
    dict: "text", list: "text", tuple: "text",
}
_NAMED_TYPES = {
    "text": "text", "str": "text", "varchar": "text", "integer": "bigint", "int": "bigint",
    "bigint": "bigint", "real": "double precision", "float": "double precision",
    "numeric": "double precision", "blob": "bytea", "boolean": "bigint", "bool": "bigint",
}
_PY_TYPES = {"text": str, "bigint": int, "integer": int, "smallint": int, "double precision": float,
             "real": float, "bytea": bytes, "boolean": bool}
_SQLITE_ONLY = [
    (re.compile(r"^\s*(insert\s+or\s+replace|replace\s+into)\b", re.I),
     "insert or replace is SQLite-only: use table(...).upsert(row, pk=...)"),
    (re.compile(r"^\s*pragma\b", re.I), "PRAGMA is SQLite-only"),
]
_ROWID = re.compile(r"\browid\b", re.I)
_INSERT_OR_IGNORE = re.compile(r"^(\s*)insert\s+or\s+ignore\s+into\b", re.I)

COMPAT_SQL = """
create or replace function json_extract(doc text, path text) returns text
  language sql immutable as
  $$ select jsonb_path_query_first(doc::jsonb, path::jsonpath) #>> '{}' $$;
create or replace function _group_concat_step(acc text, val text, sep text) returns text
  language sql immutable as
  $$ select case when val is null then acc when acc is null then val else acc || sep || val end $$;
create or replace function _group_concat_step(acc text, val text) returns text
  language sql immutable as $$ select _group_concat_step(acc, val, ',') $$;
create or replace aggregate group_concat(text, text) (sfunc = _group_concat_step, stype = text);
create or replace aggregate group_concat(text) (sfunc = _group_concat_step, stype = text);
create or replace function ifnull(anycompatible, anycompatible) returns anycompatible
  language sql immutable as $$ select coalesce($1, $2) $$;
create or replace function datetime(moment text, modifier text default '0 seconds') returns text
  language sql stable as
  $$ select to_char((case when moment = 'now' then now() else moment::timestamptz end
                     + modifier::interval) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') $$;
"""


class _LooseInt(Dumper):
    """Ints and bools go untyped, so the server casts them to the column's type (SQLite affinity)."""

    oid = 0

    def dump(self, obj: Any) -> bytes:
        return str(int(obj)).encode()


class _Text(Dumper):
    """Text as UTF-8; NUL, which PostgreSQL text cannot hold, becomes U+FFFD."""

    oid = 0

    def dump(self, obj: Any) -> bytes:
        text = str(obj)
        return (text.replace("\x00", "\ufffd") if "\x00" in text else text).encode("utf-8")


def _adapt(conn: psycopg.Connection[Any]) -> None:
    for kind in (int, bool):
        conn.adapters.register_dumper(kind, _LooseInt)
    conn.adapters.register_dumper(str, _Text)


def connect(url: str) -> psycopg.Connection[Any]:
    """One autocommit connection with the loose binding (migrations, tests)."""
    conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_SECONDS)
    _adapt(conn)
    return conn


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def migrate_locked(url: str, migrate: Callable[[Any], list[str]]) -> list[str]:
    """Run `migrate(PgDatabase)` holding an advisory lock, so replicas starting together migrate once."""
    with connect(url) as conn:
        conn.execute("select pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            db = PgDatabase(conn)
            ensure_compat(db)
            return migrate(db)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", [MIGRATION_LOCK])


def ensure_compat(db: PgDatabase) -> None:
    """Create the SQLite functions the queries may use (json_extract, group_concat, ifnull, datetime)."""
    db.execute(COMPAT_SQL)


@lru_cache(maxsize=1024)
def translate(statement: str, with_params: bool) -> str:
    """The statement in psycopg's dialect: `?` → `%s`, `%` → `%%`, `insert or ignore` rewritten."""
    for pattern, why in _SQLITE_ONLY:
        if pattern.search(_outside_quotes(statement)):
            raise psycopg.NotSupportedError(why)
    out: list[str] = []
    quote = ""
    for ch in statement:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" and with_params else ch)
    text = "".join(out)
    if _ROWID.search(_outside_quotes(text)):  # a row's physical id, stable within a transaction
        text = _replace_outside_quotes(text, _ROWID, "ctid")
    if _INSERT_OR_IGNORE.match(text):
        text = _INSERT_OR_IGNORE.sub(r"\1insert into", text, count=1).rstrip().rstrip(";")
        text += " on conflict do nothing"
    return text


_QUOTED = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"")


def _outside_quotes(statement: str) -> str:
    return _QUOTED.sub("''", statement)


def _replace_outside_quotes(statement: str, pattern: re.Pattern[str], new: str) -> str:
    parts, last = [], 0
    for quoted in _QUOTED.finditer(statement):
        parts += [pattern.sub(new, statement[last : quoted.start()]), quoted.group()]
        last = quoted.end()
    return "".join([*parts, pattern.sub(new, statement[last:])])


class Result:
    """What `execute` returns: rows fetched at once (the connection goes back to the pool)."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.rowcount = cursor.rowcount
        self.description = cursor.description
        self._rows = list(cursor.fetchall()) if cursor.description else []
        self.lastrowid: int | None = None

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        """Every row left."""
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgDatabase:
    """A sqlite-utils-like Database on one borrowed PostgreSQL connection."""

    def __init__(self, conn: psycopg.Connection[Any], schema: dict[str, list[str]] | None = None) -> None:
        self.conn = conn
        self._pks = schema if schema is not None else {}

    def execute(self, statement: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> Result:
        """Run one statement with `?` parameters."""
        params = None if parameters is None else _params(parameters)
        query = translate(statement, params is not None)
        with self.conn.cursor() as cursor:
            cursor.execute(query, params)
            return Result(cursor)

    def query(self, statement: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        """Rows of a select as dicts."""
        values = None if params is None else _params(params)
        with self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(translate(statement, values is not None), values)
            return iter(cursor.fetchall())

    def atomic(self) -> AbstractContextManager[Any]:
        """A transaction; nested, a savepoint."""
        return self.conn.transaction()

    def table(self, name: str) -> PgTable:
        """The table of that name (it need not exist yet)."""
        return PgTable(self, name)

    __getitem__ = table

    def table_names(self) -> list[str]:
        """The tables of the current schema."""
        return [r[0] for r in self.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
            " and table_type = 'BASE TABLE' order by table_name")]

    def close(self) -> None:
        """Nothing: the pool owns the connection."""

    def primary_key(self, table: str) -> list[str]:
        """The table's primary-key columns, in key order (remembered per pool)."""
        if table not in self._pks:
            rows = self.execute(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid"
                " and a.attnum = any(i.indkey) where i.indisprimary and i.indrelid = to_regclass(?)"
                " order by array_position(i.indkey::int2[], a.attnum)", [_quoted(table)]).fetchall()
            self._pks[table] = [str(r[0]) for r in rows]
        return self._pks[table]


class PgTable:
    """A sqlite-utils-like Table: create, indexes, columns, insert/upsert, rows."""

    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db = db
        self.name = name
        self.last_pk: Any = None
        self.last_rowid: Any = None

    # --- schema -----------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the table exists."""
        return self.db.execute("select to_regclass(?) is not null", [_quoted(self.name)]).fetchone()[0]

    @property
    def pks(self) -> list[str]:
        """Primary-key columns (["rowid"] when there is none, as sqlite-utils says)."""
        return self.db.primary_key(self.name) or ["rowid"]

    @property
    def columns_dict(self) -> dict[str, type]:
        """Column name → Python type."""
        rows = self.db.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = current_schema() and table_name = ? order by ordinal_position",
            [self.name]).fetchall()
        return {str(n): _PY_TYPES.get(str(t), str) for n, t in rows}

    @property
    def count(self) -> int:
        """How many rows."""
        return int(self.db.execute(f"select count(*) from {_quoted(self.name)}").fetchone()[0])

    @property
    def indexes(self) -> list[Any]:
        """Index names and columns (only what Migrations needs)."""
        rows = self.db.execute(
            "select indexname, indexdef from pg_indexes where schemaname = current_schema()"
            " and tablename = ?", [self.name]).fetchall()
        return [_Index(str(n), _index_columns(str(d))) for n, d in rows]

    def create(
        self,
        columns: Mapping[str, Any],
        pk: str | Sequence[str] | None = None,
        not_null: Iterable[str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        if_not_exists: bool = False,
        ignore: bool = False,
    ) -> PgTable:
        """CREATE TABLE; a single int primary key is an identity column like SQLite's rowid."""
        keys = [pk] if isinstance(pk, str) else list(pk or [])
        required, default = set(not_null or ()), dict(defaults or {})
        parts = []
        for name, kind in columns.items():
            column = f"{_quoted(name)} {_pg_type(kind)}"
            if keys == [name] and _pg_type(kind) == "bigint":
                column += " generated by default as identity"
            if name in required:
                column += " not null"
            if name in default:
                column += f" default {sql.Literal(jsonify_if_needed(default[name])).as_string()}"
            parts.append(column)
        if keys:
            parts.append(f"primary key ({', '.join(_quoted(k) for k in keys)})")
        guard = "if not exists " if if_not_exists or ignore else ""
        self.db.execute(f"create table {guard}{_quoted(self.name)} ({', '.join(parts)})")
        self.db._pks.pop(self.name, None)
        return self

    def create_index(
        self,
        columns: Iterable[str],
        index_name: str | None = None,
        unique: bool = False,
        if_not_exists: bool = False,
    ) -> PgTable:
        """CREATE INDEX, named as sqlite-utils names it (idx_<table>_<columns>)."""
        names = list(columns)
        index = index_name or f"idx_{self.name}_{'_'.join(names)}"
        self.db.execute(
            f"create {'unique ' if unique else ''}index {'if not exists ' if if_not_exists else ''}"
            f"{_quoted(index)} on {_quoted(self.name)} ({', '.join(_quoted(c) for c in names)})")
        return self

    def add_column(self, col_name: str, col_type: Any = None, not_null_default: Any = None) -> PgTable:
        """ALTER TABLE … ADD COLUMN (NOT NULL DEFAULT when given)."""
        column = f"{_quoted(col_name)} {_pg_type(col_type or str)}"
        if not_null_default is not None:
            column += f" not null default {sql.Literal(jsonify_if_needed(not_null_default)).as_string()}"
        self.db.execute(f"alter table {_quoted(self.name)} add column {column}")
        return self

    def transform(
        self,
        types: Mapping[str, Any] | None = None,
        rename: Mapping[str, str] | None = None,
        drop: Iterable[str] | None = None,
        pk: str | Sequence[str] | None = None,
        not_null: Iterable[str] | Mapping[str, bool] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> PgTable:
        """ALTER TABLE for what sqlite-utils' transform rebuilds: types, renames, drops, key, NOT NULL, defaults."""
        table = _quoted(self.name)
        for column, kind in (types or {}).items():
            pg_type = _pg_type(kind)
            self.db.execute(f"alter table {table} alter column {_quoted(column)} type {pg_type}"
                            f" using {_quoted(column)}::{pg_type}")
        for old, new in (rename or {}).items():
            self.db.execute(f"alter table {table} rename column {_quoted(old)} to {_quoted(new)}")
        for column in drop or ():
            self.db.execute(f"alter table {table} drop column {_quoted(column)}")
        flags = not_null.items() if isinstance(not_null, Mapping) else ((c, True) for c in not_null or ())
        for column, required in flags:
            self.db.execute(f"alter table {table} alter column {_quoted(column)}"
                            f" {'set' if required else 'drop'} not null")
        for column, value in (defaults or {}).items():
            literal = sql.Literal(jsonify_if_needed(value)).as_string()
            self.db.execute(f"alter table {table} alter column {_quoted(column)} set default {literal}")
        if pk is not None:
            keys = [pk] if isinstance(pk, str) else list(pk)
            found = self.db.execute(
                "select conname from pg_constraint where contype = 'p' and conrelid = to_regclass(?)",
                [table]).fetchone()
            if found:
                self.db.execute(f"alter table {table} drop constraint {_quoted(str(found[0]))}")
            self.db.execute(f"alter table {table} add primary key ({', '.join(_quoted(k) for k in keys)})")
        self.db._pks.pop(self.name, None)
        return self

    # --- rows -----------------------------------------------------------------------------------

    def insert(
        self, record: Mapping[str, Any], pk: Any = None, ignore: bool = False, replace: bool = False,
    ) -> PgTable:
        """INSERT one row; `last_pk` is its primary key (the identity value when generated)."""
        keys = self._keys(pk)
        if replace:
            self._delete_pk(record, keys)
        columns = list(record)
        statement = (
            f"insert into {_quoted(self.name)} ({', '.join(_quoted(c) for c in columns)})"
            f" values ({', '.join('%s' for _ in columns)})"
        ) if columns else f"insert into {_quoted(self.name)} default values"
        if ignore:
            statement += " on conflict do nothing"
        if keys:
            statement += f" returning {', '.join(_quoted(k) for k in keys)}"
        with self.db.conn.cursor() as cursor:
            cursor.execute(statement.encode(), _params([record[c] for c in columns]))
            row = cursor.fetchone() if keys else None
        self._note_pk(row, keys, record)
        return self

    def insert_all(self, records: Iterable[Mapping[str, Any]], pk: Any = None,
                   ignore: bool = False, replace: bool = False) -> PgTable:
        """Insert each row (see insert)."""
        for record in records:
            self.insert(record, pk=pk, ignore=ignore, replace=replace)
        return self

    def upsert(self, record: Mapping[str, Any], pk: Any = None) -> PgTable:
        """Insert, or update the given columns of the row with this primary key."""
        keys = self._keys(pk)
        if not keys:
            raise psycopg.ProgrammingError(f"upsert into {self.name} needs a primary key")
        columns = list(record)
        changes = [c for c in columns if c not in keys]
        action = (f"do update set {', '.join(f'{_quoted(c)} = excluded.{_quoted(c)}' for c in changes)}"
                  if changes else "do nothing")
        statement = (
            f"insert into {_quoted(self.name)} ({', '.join(_quoted(c) for c in columns)})"
            f" values ({', '.join('%s' for _ in columns)})"
            f" on conflict ({', '.join(_quoted(k) for k in keys)}) {action}"
        )
        with self.db.conn.cursor() as cursor:
            cursor.execute(statement.encode(), _params([record[c] for c in columns]))
        self.last_pk = record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys)
        return self

    def upsert_all(self, records: Iterable[Mapping[str, Any]], pk: Any = None) -> PgTable:
        """Upsert each row (see upsert)."""
        for record in records:
            self.upsert(record, pk=pk)
        return self

    def rows_where(
        self,
        where: str | None = None,
        where_args: Sequence[Any] | None = None,
        order_by: str | None = None,
        select: str = "*",
        limit: int | None = None,
        offset: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows as dicts; `order_by="rowid"` orders by the primary key."""
        statement = f"select {select} from {_quoted(self.name)}"
        if where:
            statement += f" where {where}"
        if order_by:
            if order_by.strip().lower() == "rowid":
                order_by = ", ".join(_quoted(k) for k in self.db.primary_key(self.name)) or "1"
            statement += f" order by {order_by}"
        if limit is not None:
            statement += f" limit {int(limit)}"
        if offset is not None:
            statement += f" offset {int(offset)}"
        return self.db.query(statement, where_args)

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a dict."""
        return self.rows_where()

    def get(self, pk_values: Any) -> dict[str, Any]:
        """The row with this primary key; sqlite-utils' NotFoundError when there is none."""
        keys = self._keys(None)
        values = list(pk_values) if isinstance(pk_values, list | tuple) else [pk_values]
        where = " and ".join(f"{_quoted(k)} = ?" for k in keys)
        rows = list(self.rows_where(where, values))
        if not rows:
            raise NotFoundError(f"no row of {self.name} with {pk_values!r}")
        return rows[0]

    def update(self, pk_values: Any, updates: Mapping[str, Any] | None = None) -> PgTable:
        """Set columns of the row with this primary key."""
        if updates:
            keys = self._keys(None)
            values = list(pk_values) if isinstance(pk_values, list | tuple) else [pk_values]
            assign = ", ".join(f"{_quoted(c)} = ?" for c in updates)
            where = " and ".join(f"{_quoted(k)} = ?" for k in keys)
            self.db.execute(f"update {_quoted(self.name)} set {assign} where {where}",
                            [*updates.values(), *values])
        return self

    def delete_where(self, where: str | None = None, where_args: Sequence[Any] | None = None) -> PgTable:
        """DELETE the rows matching `where` (every row when None)."""
        statement = f"delete from {_quoted(self.name)}" + (f" where {where}" if where else "")
        self.db.execute(statement, where_args)
        return self

    # --- helpers --------------------------------------------------------------------------------

    def _keys(self, pk: Any) -> list[str]:
        if pk is None:
            return self.db.primary_key(self.name)
        return [pk] if isinstance(pk, str) else list(pk)

    def _delete_pk(self, record: Mapping[str, Any], keys: list[str]) -> None:
        if keys and all(k in record for k in keys):
            self.delete_where(" and ".join(f"{_quoted(k)} = ?" for k in keys), [record[k] for k in keys])

    def _note_pk(self, row: Any, keys: list[str], record: Mapping[str, Any]) -> None:
        if row is None:  # ignored as a duplicate, or no primary key
            self.last_pk = record.get(keys[0]) if len(keys) == 1 else None
            return
        self.last_pk = row[0] if len(keys) == 1 else tuple(row)
        self.last_rowid = self.last_pk
        if len(keys) == 1 and keys[0] in record and isinstance(record[keys[0]], int):
            # an explicit id: move the identity past it, as SQLite's rowid would
            self.db.execute(
                f"select setval(pg_get_serial_sequence(?, ?), greatest((select max({_quoted(keys[0])})"
                f" from {_quoted(self.name)}), 1))", [_quoted(self.name), keys[0]])


class _Index:
    """One index as Migrations.ensure_migrations_table reads it."""

    def __init__(self, name: str, columns: list[str]) -> None:
        self.name = name
        self.columns = columns


class PgPool:
    """A psycopg_pool of autocommit connections; `run(fn)` lends one to `fn` as a PgDatabase."""

    def __init__(self, url: str, size: int = POOL_SIZE) -> None:
        self.url = url
        self._schema: dict[str, list[str]] = {}
        self.pool = ConnectionPool(
            url, min_size=1, max_size=size, open=False, configure=_adapt,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_SECONDS}, timeout=CONNECT_SECONDS,
        )
        self.pool.open(wait=True, timeout=CONNECT_SECONDS)

    def run(self, fn: Any) -> Any:
        """Call `fn(PgDatabase)` on a pooled connection."""
        with self.pool.connection() as conn:
            return fn(PgDatabase(conn, self._schema))

    def close(self) -> None:
        """Close every connection (twice is fine)."""
        self.pool.close()


def _params(values: Sequence[Any] | Mapping[str, Any]) -> Any:
    if isinstance(values, Mapping):
        return {k: jsonify_if_needed(v) for k, v in values.items()}
    return [jsonify_if_needed(v) for v in values]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_type(kind: Any) -> str:
    if isinstance(kind, str):
        return _NAMED_TYPES.get(kind.strip().lower(), "text")
    return _TYPES.get(kind, "text")


def _index_columns(definition: str) -> list[str]:
    inside = definition[definition.rfind("(") + 1 : definition.rfind(")")]
    return [c.strip().strip('"') for c in inside.split(",")]
