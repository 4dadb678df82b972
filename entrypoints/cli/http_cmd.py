"""``motcua serve`` and ``motcua apikey create|list|revoke``.

A key is created with exactly one scope — ``--unit CODE…`` (a commune's staff), ``--province CODE``
(provincial staff, inspectors), ``--applicant-id ID`` (software acting for one applicant, role ``applicant``
alone) or ``--all-units`` (an operator's key, said out loud): a key nobody scoped is a choice, never an
omission. Codes and the identity number are checked for their shape and length first (a malformed one is
refused without being echoed), then unit and province codes against the unit register the server reads. A key's
roles are those some workflow declares (``inspector`` among them: it reads, no trigger allows it); anything else is
refused, naming the known roles. No key gets the role ``system``: it is motcua's own, for its timers, imports and
successions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from motcua.adapters.backends import open_backend
from motcua.adapters.bootstrap import database_url, home_unit, open_motcua
from motcua.adapters.keys import APPLICANT_ROLE, ApiKey, ApiKeyStore, held_besides, held_note, new_key
from motcua.entrypoints.cli.scope_options import KeyAllUnits, KeyProvince, KeyUnits, one_scope
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import bounded_line, fail
from motcua.workflow.engine.bounds import CODE_MAX
from motcua.workflow.engine.clock import SystemClock, to_vietnam_time
from motcua.workflow.errors import InvalidInput, MotcuaError, NotFound
from motcua.workflow.units.directory import UnitDirectory

__all__ = ["apikey_app", "check_known", "register_http"]

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
apikey_app = typer.Typer(help="API keys of the HTTP API (stored hashed; a key is shown once).",
                         no_args_is_help=True, add_completion=False)
_out = terminal()


def serve(
    *,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    db: DbOption = None,
    broker: Annotated[str | None, typer.Option(
        "--broker", help="redis://…: send due timers and effects to `motcua worker --broker` workers")] = None,
    dispatch: Annotated[bool, typer.Option(
        "--dispatch/--no-dispatch", help="Run the timer and effect dispatcher in this process")] = True,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Processes answering requests (the dispatcher runs once, in the "
                                         "supervisor); more than 1 needs a SQL database")] = 1,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log", help="Log a line per request (each transition is logged anyway)")] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json) until SIGTERM / Ctrl-C."""
    from motcua.entrypoints.http.serve import ServeOptions  # noqa: PLC0415 - uvicorn loads only for this command
    from motcua.entrypoints.http.serve import serve as run  # noqa: PLC0415 - same

    if broker is not None:  # refused before the server starts: its dispatcher thread would die on it unseen
        from motcua.workers.broker import checked_url  # noqa: PLC0415 - dramatiq loads only with a broker

        broker = checked_url(broker)
    run(ServeOptions(database_url(db), host=host, port=port, broker_url=broker, dispatch=dispatch, workers=workers,
                     access_log=access_log))


@contextmanager
def _keys(db: str | None) -> Iterator[ApiKeyStore]:
    """The key store on ``--db`` (a SQL database: memory:// keys would vanish with this command)."""
    backend = open_backend(database_url(db))
    try:
        _durable(backend.durable)
        yield backend.keys
    finally:
        backend.close()


_SCOPE_FLAGS = "--unit CODE…, --province CODE, --applicant-id ID or --all-units"


@apikey_app.command("create")
def create(  # noqa: PLR0917 - one parameter per option, as typer reads them
    actor: Annotated[str, typer.Option("--actor", help="The actor the key stands for (recorded in the audit log)")],
    role: Annotated[list[str], typer.Option(
        "--role", help="A role a workflow declares (officer, specialist, leader, applicant, inspector, owner); repeat "
                       "for several")],
    unit: KeyUnits = None,
    province: KeyProvince = None,
    applicant_id: Annotated[str | None, typer.Option(
        "--applicant-id", help="With --role applicant alone: the applicant whose own dossiers the key sees")] = None,
    all_units: KeyAllUnits = False,
    db: DbOption = None,
) -> None:
    """Create a key with one scope and print it once: only its hash is stored."""
    try:
        _one_scope(role, unit, province, applicant_id, all_units)
        created = new_key(actor, role, SystemClock().now(), units=unit or None, province=province,
                          applicant=applicant_id, home=home_unit())
        motcua = open_motcua(database_url(db), observers=[], publish={})  # for its unit register
        try:
            _durable(motcua.backend.durable)
            _check_known(created.stored, motcua.desk.units)
            held = held_besides(motcua.desk.units, units=created.stored.units, province=province)
            motcua.backend.keys.add_key(created.stored)
        finally:
            motcua.close()
    except MotcuaError as error:
        fail(error, source="units file")
    stored = created.stored
    typer.echo(created.secret_text)
    typer.echo(f"key id {stored.key_id} for {stored.actor} ({', '.join(stored.roles)}), {stored.scope_text}"
               f"{held_note(held)}: store the key now, it is not shown again", err=True)


def _one_scope(
    roles: list[str], units: list[str] | None, province: str | None, applicant: str | None, all_units: bool
) -> None:
    if APPLICANT_ROLE in roles and applicant is None:
        raise InvalidInput("--applicant-id", "a key with role applicant acts for one applicant: give --applicant-id "
                                             "(and no other role)")
    one_scope(_SCOPE_FLAGS, units, province, all_units, applicant is not None)


def _check_known(key: ApiKey, units: UnitDirectory) -> None:
    check_known(key.units, key.province, units)


def check_known(unit_codes: Sequence[str] | None, province: str | None, units: UnitDirectory) -> None:
    """InvalidInput for a unit or province the register does not know (a typo would scope a key or a user to
    nothing)."""
    for code in unit_codes or ():
        if not units.knows(code) and code != units.home:  # the home unit holds the dossiers of a server without units
            raise InvalidInput("--unit", f"unknown unit {code!r}: `motcua units list` shows the codes")
    provinces = {province.code for province in units.register.provinces}
    if province is not None and province not in provinces:
        raise InvalidInput("--province", f"unknown province {province!r} (known: {', '.join(sorted(provinces))})")


def _durable(durable: bool) -> None:
    if not durable:
        raise InvalidInput("--db", "keys of memory:// live inside one server process: use a SQL database")


@apikey_app.command("list")
def list_keys(db: DbOption = None) -> None:
    """The keys: ids, actors, roles, scopes, when created and revoked.

    Never the keys themselves, nor an applicant's identity number in clear."""
    with _keys(db) as keys:
        stored = keys.api_keys()
    table = Table(title=f"API keys ({len(stored)})")
    for column in ("key id", "actor", "roles", "scope", "created", "revoked"):
        table.add_column(column)
    for key in stored:
        revoked = to_vietnam_time(key.revoked_at).isoformat(timespec="minutes") if key.revoked_at else ""
        table.add_row(key.key_id, key.actor, ", ".join(key.roles), key.scope_text,
                      to_vietnam_time(key.created_at).isoformat(timespec="minutes"), revoked)
    _out.print(table)


@apikey_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after mc_)", callback=bounded_line(CODE_MAX))],
    db: DbOption = None,
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with _keys(db) as keys:
        if not keys.revoke(key_id, SystemClock().now()):
            raise NotFound("key id", f"no live API key {key_id!r}")
    typer.echo(f"revoked {key_id}")


def register_http(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(apikey_app, name="apikey")
