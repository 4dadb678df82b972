"""What the demo was asked for, checked before anything is written: the commune and year (a reform plan
of that commune for that year must exist in ``definitions/plans/``), the size, the output folder and the
database. Bad options raise :class:`~motcua.workflow.errors.InvalidInput`; a ``--db`` holding cases raises
:class:`~motcua.workflow.errors.DatabaseNotEmpty`.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from motcua.definitions.offices import DEFAULT_OFFICE, office_names
from motcua.definitions.plans import load_plan, plan_paths
from motcua.workflow.errors import InvalidInput, NotFound
from motcua.workflow.plan.model import Plan

if TYPE_CHECKING:
    from motcua.adapters.bootstrap import Motcua

__all__ = [
    "DEMO_DB_NAME", "MAX_DOSSIERS", "DemoOptions", "Scenario", "make_folder", "prepared", "remove_database", "resolve",
    "writable_folder",
]

DEMO_DB_NAME = "motcua.db"
MAX_DOSSIERS = 200_000


@dataclass(frozen=True)
class DemoOptions:
    year: int = 2023
    commune: str = "An Thượng"
    dossiers: int = 6000
    seed: int = 1
    db: str | None = None  # default: a fresh SQLite file in ``out``
    broker: str | None = None  # default: the in-process runner
    out: Path = Path("demo-output")
    threads: int = 4  # dramatiq worker threads with ``broker``


@dataclass(frozen=True)
class Scenario:
    commune: str  # as the plan names it
    office: str  # the calendar (definitions/offices/<office>.yaml)
    plan: Plan
    database_url: str
    fresh_file: Path | None  # the demo's own database file, replaced at each run


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold().strip()
    return text.removeprefix("xã ").strip()


def _commune_name(plan: Plan) -> str:
    """"Xã An Thượng, thành phố Hải Dương, …" → "An Thượng"."""
    first = plan.commune.split(",")[0].strip()
    return first[3:].strip() if first.casefold().startswith("xã ") else first


def _plan_for(commune: str, year: int) -> Plan:
    plans = [load_plan(path) for path in plan_paths()]
    wanted = _folded(commune)
    mine = [plan for plan in plans if wanted and _folded(_commune_name(plan)) == wanted]
    if not mine:
        known = ", ".join(sorted({_commune_name(plan) for plan in plans})) or "none"
        raise NotFound("--commune", f"{commune!r} has no reform plan in definitions/plans/ (communes: {known})")
    for plan in mine:
        if plan.year == year:
            return plan
    years = ", ".join(str(plan.year) for plan in sorted(mine, key=lambda p: p.year))
    raise InvalidInput("--year", f"{year}: {_commune_name(mine[0])} has a reform plan for {years} only")


def _office_of(plan: Plan) -> str:
    name = plan.key.removesuffix(f"-{plan.year}")
    return name if name in office_names() else DEFAULT_OFFICE


def writable_folder(out: Path) -> None:
    """Refuse ``out`` unless the demo can write there: a writable folder, or a path whose nearest existing folder is
    writable (it is created later, by :func:`make_folder`). Nothing is created here."""
    existing = next((path for path in (out, *out.parents) if path.exists()), Path("."))
    if not existing.is_dir():
        raise InvalidInput("--out", f"{out}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput("--out", f"{out}: cannot write in {existing}")


def make_folder(out: Path) -> None:
    """Create the output folder (once every option, and a ``--db``, has been accepted)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInput("--out", f"{out}: cannot write there ({error.strerror or error})") from None


def remove_database(path: Path) -> None:
    """Remove the SQLite file at ``path`` and its ``-wal`` and ``-shm`` companions (the demo's own file, replaced)."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def prepared(open_database: Callable[[], Motcua], out: Path, own_file: Path | None) -> Motcua:
    """The database, ready for the year, and the output folder made. A ``--db`` (``own_file`` None) is opened and found
    empty before the folder is made, the demo's own file (``own_file``, removed first) after: a refusal writes
    nothing."""
    if own_file is not None:
        make_folder(out)
        remove_database(own_file)
        return open_database()
    app = open_database()
    try:
        make_folder(out)
    except BaseException:
        app.close()
        raise
    return app


def resolve(options: DemoOptions) -> Scenario:
    """Check every option, writing nothing: the output folder is created by :func:`make_folder`, after a ``--db``
    is found empty."""
    if options.dossiers < 1 or options.dossiers > MAX_DOSSIERS:
        raise InvalidInput("--dossiers", f"{options.dossiers}: give a number from 1 to {MAX_DOSSIERS:,}")
    if options.threads < 1:
        raise InvalidInput("--threads", f"{options.threads}: at least one worker thread")
    if options.broker is not None and not options.broker.startswith(("redis://", "rediss://", "unix://")):
        raise InvalidInput("--broker", f"{options.broker!r}: use redis://host:port/db")
    plan = _plan_for(options.commune, options.year)
    writable_folder(options.out)
    if options.db is not None:
        return Scenario(_commune_name(plan), _office_of(plan), plan, options.db, None)
    path = options.out / DEMO_DB_NAME
    # the demo's own file: WAL with synchronous=NORMAL (survives a crash of the process, see adapters/sql/engine.py)
    url = f"sqlite:///{path}?synchronous=normal"
    return Scenario(_commune_name(plan), _office_of(plan), plan, url, path)
