"""What an installed ``motcua`` holds, as JSON: run as a script by the interpreter of a fresh virtual environment.

``python probe.py imports`` — where ``motcua`` and each of its modules come from, what finds them;
``python probe.py definitions`` — every shipped YAML definition, loaded by the package's own loaders;
``python probe.py migrations URL [--upgrade]`` — the shipped Alembic scripts and the schema of the database at URL.

:func:`definitions` and :func:`migrations` also run inside the test process (the repository's tree), so the
installed package is compared with the source: same definitions, same revisions.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import pkgutil
import sys
from pathlib import Path

# The design's folders: importable as motcua.<folder> only, never as top-level names of their own.
FOLDERS = ("workflow", "definitions", "workers", "adapters", "simulation", "entrypoints")
# The Alembic environment runs only inside `alembic upgrade` (it reads alembic.context at import).
NOT_IMPORTABLE_ALONE = frozenset({"motcua.adapters.sql.migrations.env"})


def imports() -> dict[str, object]:
    import motcua  # noqa: PLC0415 - the import is what is probed

    failed: dict[str, str] = {}

    def record(name: str) -> None:
        failed[name] = repr(sys.exc_info()[1])

    names = sorted(
        info.name for info in pkgutil.walk_packages(motcua.__path__, "motcua.", onerror=record)
        if info.name not in NOT_IMPORTABLE_ALONE and not info.name.endswith(".__main__")  # __main__ runs a program
    )
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # every failure is reported, none stops the probe
            failed[name] = repr(error)
    bare: dict[str, str | None] = {}
    for folder in FOLDERS:
        try:
            module = importlib.import_module(folder)
        except ModuleNotFoundError:
            bare[folder] = None
        else:
            bare[folder] = str(getattr(module, "__file__", None) or list(getattr(module, "__path__", [])))
    files = {
        name: module.__file__ for name, module in sorted(sys.modules.items())
        if (name == "motcua" or name.startswith("motcua.")) and getattr(module, "__file__", None)
    }
    distribution = importlib.metadata.distribution("motcua")
    return {
        "prefix": sys.prefix,
        "motcua": motcua.__file__,
        "modules": names,
        "failed": failed,
        "files": files,
        "bare": bare,
        "meta_path": [repr(finder) for finder in sys.meta_path],
        "editable_loaded": sorted(name for name in sys.modules if "editable" in name),
        "distribution": str(distribution.locate_file("")),
        "entry_points": sorted(f"{ep.name}={ep.value}" for ep in distribution.entry_points),
    }


def definitions() -> dict[str, object]:
    from motcua.adapters.bootstrap import open_motcua  # noqa: PLC0415
    from motcua.definitions.calendar import CALENDAR_DIR, NATIONAL_FILE, load_national_calendar  # noqa: PLC0415
    from motcua.definitions.catalogue import PROCEDURES_DIR, RULES_DIR, load_procedures, load_rule_sets  # noqa: PLC0415
    from motcua.definitions.offices import OFFICES_DIR, load_office, office_names  # noqa: PLC0415
    from motcua.definitions.plans import PLANS_DIR, load_plan, plan_paths  # noqa: PLC0415
    from motcua.definitions.units import UNITS_DIR, load_units  # noqa: PLC0415
    from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition  # noqa: PLC0415

    folders = {"workflows": WORKFLOWS_DIR, "procedures": PROCEDURES_DIR, "rules": RULES_DIR,
               "offices": OFFICES_DIR, "plans": PLANS_DIR, "units": UNITS_DIR, "calendar": CALENDAR_DIR}
    app = open_motcua("memory://", observers=[])  # compiles every workflow against its guards and actions
    try:
        compiled = sorted(definition.ref for definition in app.workflows.definitions())
    finally:
        app.close()
    return {
        "folders": {kind: str(folder) for kind, folder in folders.items()},
        "yaml": {kind: sorted(path.name for path in folder.glob("*.yaml")) for kind, folder in folders.items()},
        "workflows": sorted(load_definition(path).ref for path in sorted(WORKFLOWS_DIR.glob("*.yaml"))),
        "compiled": compiled,
        "procedures": sorted(procedure.code for procedure in load_procedures()),
        "rules": sorted(rule_set.key for rule_set in load_rule_sets()),
        "offices": {name: load_office(name).label for name in office_names()},
        "calendar": [correction.day.isoformat() for correction in load_national_calendar(NATIONAL_FILE).corrections],
        "plans": {path.name: len(load_plan(path).tasks) for path in plan_paths()},
        "units": sorted(unit.code for unit in load_units().units),
    }


def migrations(url: str, *, upgrade: bool = False) -> dict[str, object]:
    from alembic.autogenerate import compare_metadata  # noqa: PLC0415
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    import motcua.adapters.sql.http_tables  # noqa: PLC0415 - registers rows in the metadata, as env.py does
    import motcua.adapters.sql.pin_tables  # noqa: PLC0415
    import motcua.adapters.sql.portal_tables  # noqa: PLC0415
    import motcua.adapters.sql.report_tables  # noqa: PLC0415, F401
    from motcua.adapters.sql import migrate  # noqa: PLC0415
    from motcua.adapters.sql.engine import create_engine  # noqa: PLC0415
    from motcua.adapters.sql.tables import metadata  # noqa: PLC0415

    if upgrade:
        migrate.upgrade(url)
        migrate.upgrade(url)  # idempotent: a second run finds the schema at head
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            heads = sorted(context.get_current_heads())
            differences = [repr(difference) for difference in compare_metadata(context, metadata)]
            connection.rollback()
    finally:
        engine.dispose()
    return {
        "scripts": str(Path(scripts.dir).resolve()),
        "revisions": sorted(revision.revision for revision in scripts.walk_revisions()),
        "head": scripts.get_current_head(),
        "database_heads": heads,
        "differences": differences,
    }


def main(argv: list[str]) -> None:
    match argv:
        case ["imports"]:
            report = imports()
        case ["definitions"]:
            report = definitions()
        case ["migrations", url]:
            report = migrations(url)
        case ["migrations", url, "--upgrade"]:
            report = migrations(url, upgrade=True)
        case _:
            raise SystemExit(f"usage: probe.py imports | definitions | migrations URL [--upgrade]; got {argv}")
    json.dump(report, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
