"""Where a class's attempts live: SQLite in a data folder by default (embedded, created on first use, WAL mode),
PostgreSQL when VACDEMO_DATABASE_URL says so (replicas behind nginx then share one wall). One schema with a
version, created or migrated at start; only parameters, never SQL built from strings (SQLAlchemy Core).

Only what the wall shows is kept (28×28 PNGs, never the raw upload; a nickname), and a class is deleted when it
ends or expires.
"""
import os
import time
from pathlib import Path

from sqlalchemy import (Boolean, Column, Float, ForeignKey, Integer, LargeBinary, MetaData, String, Table,
                        create_engine, delete, event, func, insert, select, update)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import VacdemoError

SCHEMA_VERSION = 1
DEFAULT_FOLDER = Path("runs") / "classroom"  # relative to where the server runs (make demo: the repository)

meta = MetaData()
info = Table("vac_meta", meta, Column("key", String(32), primary_key=True), Column("value", String(64)))
classes = Table(
    "vac_class", meta,
    Column("code", String(8), primary_key=True),
    Column("key_hash", String(64), nullable=False),  # sha256 of the teacher key: the key itself is never stored
    Column("challenge", String(16), nullable=False),
    Column("dataset", String(8), nullable=False),
    Column("created", Float, nullable=False),
    Column("last_active", Float, nullable=False),  # the class expires this long after its last post
    Column("hide_names", Boolean, nullable=False, default=False))
students = Table(
    "vac_student", meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(8), ForeignKey("vac_class.code", ondelete="CASCADE"), index=True, nullable=False),
    Column("session", String(64), nullable=False),
    Column("nickname", String(20)),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("joined", Float, nullable=False))
attempts = Table(
    "vac_attempt", meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(8), ForeignKey("vac_class.code", ondelete="CASCADE"), index=True, nullable=False),
    Column("student", Integer, ForeignKey("vac_student.id", ondelete="CASCADE"), nullable=False),
    Column("created", Float, nullable=False),
    Column("challenge", String(16), nullable=False),
    Column("dataset", String(8), nullable=False),
    Column("model", String(16), nullable=False),
    Column("goal", String(24), nullable=False),
    Column("target", Integer),
    Column("flip_eps", Float),  # the smallest ε that fools the model, found by the server; None: never fooled
    Column("label", Integer, nullable=False),  # the model's answer before the attack
    Column("after", Integer, nullable=False),  # and at flip_eps (or at the largest ε)
    Column("caught", Boolean, nullable=False),  # the detector's alarm at flip_eps
    Column("x_png", LargeBinary, nullable=False),
    Column("adv_png", LargeBinary, nullable=False),
    Column("hidden", Boolean, nullable=False, default=False))


class StoreError(VacdemoError):
    """The store cannot be reached or used: the lab keeps working, the wall says it is unavailable."""


def database_url(url: str | None = None) -> str:
    """url, else $VACDEMO_DATABASE_URL, else SQLite in $VACDEMO_CLASSROOM_DIR (default runs/classroom)."""
    url = url or os.environ.get("VACDEMO_DATABASE_URL")
    if url:
        return url
    folder = Path(os.environ.get("VACDEMO_CLASSROOM_DIR") or DEFAULT_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'classroom.sqlite').resolve()}"


def connect(url: str | None = None) -> Engine:
    """An engine on the store, its schema created or migrated to SCHEMA_VERSION."""
    url = database_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})

            @event.listens_for(engine, "connect")
            def _sqlite(conn, _):  # WAL: the wall reads while a post writes; foreign keys for the cascades
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        else:
            connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}  # a gone server: 5 s
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args)
        migrate(engine)
        return engine
    except SQLAlchemyError as e:
        raise StoreError(f"the class store at {safe(url)} cannot be used ({type(e).__name__}): check "
                         "VACDEMO_DATABASE_URL and that the database server runs") from None


def migrate(engine: Engine) -> int:
    """Create the tables where missing and record the schema version; refuse a store newer than this code."""
    meta.create_all(engine)
    with engine.begin() as c:
        row = c.execute(select(info.c.value).where(info.c.key == "schema")).first()
        if row is None:
            c.execute(insert(info).values(key="schema", value=str(SCHEMA_VERSION)))
            return SCHEMA_VERSION
        found = int(row.value)
        if found > SCHEMA_VERSION:
            raise StoreError(f"the class store has schema {found}, newer than this vacdemo's {SCHEMA_VERSION}: "
                             "update vacdemo, or point VACDEMO_DATABASE_URL at another database")
        # (migrations from older versions go here, one step each, then the version is raised)
        c.execute(update(info).where(info.c.key == "schema").values(value=str(SCHEMA_VERSION)))
        return SCHEMA_VERSION


def safe(url: str) -> str:
    """A database URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, cred = head.partition("://")
    return f"{scheme}://{cred.split(':')[0]}:***@{tail}"


def cleanup(engine: Engine, max_age_s: float, now: float | None = None) -> int:
    """Delete the classes idle for longer than max_age_s (with their students and attempts); → how many."""
    cutoff = (now or time.time()) - max_age_s
    with engine.begin() as c:
        old = [r.code for r in c.execute(select(classes.c.code).where(classes.c.last_active < cutoff))]
        for code in old:
            delete_class(c, code)
    return len(old)


def delete_class(c, code: str) -> None:
    """Everything of a class, children first (SQLite's cascades need its pragma; this does not)."""
    c.execute(delete(attempts).where(attempts.c.code == code))
    c.execute(delete(students).where(students.c.code == code))
    c.execute(delete(classes).where(classes.c.code == code))


def count(c, table: Table, code: str) -> int:
    return c.execute(select(func.count()).select_from(table).where(table.c.code == code)).scalar_one()
