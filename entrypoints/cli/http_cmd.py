"""``motcua serve`` and ``motcua apikey create|list|revoke``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from motcua.adapters.backends import open_backend
from motcua.adapters.bootstrap import database_url
from motcua.adapters.keys import ApiKeyStore, new_key
from motcua.workflow.engine.clock import SystemClock, to_vietnam_time
from motcua.workflow.errors import InvalidInput, NotFound

__all__ = ["apikey_app", "register_http"]

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
apikey_app = typer.Typer(help="API keys of the HTTP API (stored hashed; a key is shown once).",
                         no_args_is_help=True, add_completion=False)
_out = Console()


def serve(
    *,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    db: DbOption = None,
    broker: Annotated[str | None, typer.Option(
        "--broker", help="redis://…: send due timers and effects to `motcua worker --broker` workers")] = None,
    dispatch: Annotated[bool, typer.Option(
        "--dispatch/--no-dispatch", help="Run the timer and effect dispatcher in this process")] = True,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json) until SIGTERM / Ctrl-C."""
    from motcua.entrypoints.http.serve import ServeOptions  # noqa: PLC0415 - uvicorn loads only for this command
    from motcua.entrypoints.http.serve import serve as run  # noqa: PLC0415 - same

    run(ServeOptions(database_url(db), host=host, port=port, broker_url=broker, dispatch=dispatch))


@contextmanager
def _keys(db: str | None) -> Iterator[ApiKeyStore]:
    """The key store on ``--db`` (a SQL database: memory:// keys would vanish with this command)."""
    backend = open_backend(database_url(db))
    try:
        if not backend.durable:
            raise InvalidInput("--db", "keys of memory:// live inside one server process: use a SQL database")
        yield backend.keys
    finally:
        backend.close()


@apikey_app.command("create")
def create(
    actor: Annotated[str, typer.Option("--actor", help="The actor the key stands for (recorded in the audit log)")],
    role: Annotated[list[str], typer.Option("--role", help="A role of the actor; repeat for several")],
    db: DbOption = None,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    created = new_key(actor, role, SystemClock().now())
    with _keys(db) as keys:
        keys.add_key(created.stored)
    typer.echo(created.secret_text)
    typer.echo(f"key id {created.stored.key_id} for {created.stored.actor} ({', '.join(created.stored.roles)}): "
               "store the key now, it is not shown again", err=True)


@apikey_app.command("list")
def list_keys(db: DbOption = None) -> None:
    """The keys (ids, actors, roles, when created and revoked): never the keys themselves."""
    with _keys(db) as keys:
        stored = keys.api_keys()
    table = Table(title=f"API keys ({len(stored)})")
    for column in ("key id", "actor", "roles", "created", "revoked"):
        table.add_column(column)
    for key in stored:
        revoked = to_vietnam_time(key.revoked_at).isoformat(timespec="minutes") if key.revoked_at else ""
        table.add_row(key.key_id, key.actor, ", ".join(key.roles),
                      to_vietnam_time(key.created_at).isoformat(timespec="minutes"), revoked)
    _out.print(table)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id (the part after mc_)")], db: DbOption = None) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with _keys(db) as keys:
        if not keys.revoke(key_id, SystemClock().now()):
            raise NotFound("key id", f"no live API key {key_id!r}")
    typer.echo(f"revoked {key_id}")


def register_http(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(apikey_app, name="apikey")
