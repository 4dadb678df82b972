"""``motcua user create|disable|list``: the browser console's users.

A user is created with roles and exactly one scope, as an API key is — ``--unit CODE…`` (a commune's staff),
``--province CODE`` (provincial staff, inspectors) or ``--all-units`` (an operator, said out loud) —, the same
roles a key may hold plus the console's own ``operator`` and ``auditor``, never ``system`` nor ``applicant``. The
password is never a command-line argument (it would be in the shell's history and the process list): it is asked
twice at a terminal, or read as the first line of standard input (``printf '%s\\n' "$PASSWORD" | motcua user
create …``), at most 256 characters, and only its Argon2 hash is stored.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Final

import typer
from rich.table import Table

from motcua.adapters.backends import open_backend
from motcua.adapters.bootstrap import database_url, home_unit, open_motcua
from motcua.adapters.keys import held_besides, held_note
from motcua.adapters.users import NAME_MAX, PASSWORD_MAX, UserStore, check_password, new_user
from motcua.entrypoints.cli.http_cmd import check_known
from motcua.entrypoints.cli.scope_options import UserAllUnits, UserProvince, UserUnits, one_scope
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import bounded_line, fail
from motcua.workflow.engine.clock import SystemClock, to_vietnam_time
from motcua.workflow.errors import InvalidInput, MotcuaError, NotFound

__all__ = ["register", "user_app"]

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
user_app = typer.Typer(help="Users of the browser console (passwords stored as Argon2 hashes).",
                       no_args_is_help=True, add_completion=False)
_out = terminal()
_SCOPE_FLAGS: Final = "--unit CODE…, --province CODE or --all-units"


@user_app.command("create")
def create(  # noqa: PLR0917 - one parameter per option, as typer reads them
    name: Annotated[str, typer.Option("--name", help="The name the user signs in with (and acts as in the audit log)")],
    role: Annotated[list[str], typer.Option(
        "--role", help="officer, specialist, leader, inspector, owner, or the console's operator and auditor; "
                       "repeat for several")],
    unit: UserUnits = None,
    province: UserProvince = None,
    all_units: UserAllUnits = False,
    db: DbOption = None,
) -> None:
    """Create a console user; the password is asked (or read from the first line of standard input)."""
    try:
        one_scope(_SCOPE_FLAGS, unit, province, all_units)
        password = _password()
        user = new_user(name, password, role, SystemClock().now(), units=unit or None, province=province,
                        home=home_unit())
        motcua = open_motcua(database_url(db), observers=[], publish={})  # for its unit register
        try:
            _durable(motcua.backend.durable)
            check_known(user.units, user.province, motcua.desk.units)
            held = held_besides(motcua.desk.units, units=user.units, province=user.province)
            if not motcua.backend.users.add_user(user):
                raise InvalidInput("--name", f"there is already a user {user.name!r}")
        finally:
            motcua.close()
    except MotcuaError as error:
        fail(error, source="units file")
    typer.echo(f"user {user.name} ({', '.join(user.roles)}), {user.scope_text}{held_note(held)}")


def _password() -> str:
    """The password, asked twice at a terminal or read from standard input's first line; never echoed."""
    if sys.stdin.isatty():
        first = getpass.getpass("Mật khẩu (password): ")
        if getpass.getpass("Nhập lại (again): ") != first:
            raise InvalidInput("password", "the two entries differ")
        password = first
    else:
        password = sys.stdin.readline(PASSWORD_MAX + 2).rstrip("\r\n")
    check_password(password)
    return password


@user_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The user's name", callback=bounded_line(NAME_MAX))],
            db: DbOption = None) -> None:
    """Disable a user: they cannot sign in, and their sessions end now."""
    with _users(db) as users:
        if not users.disable(name, SystemClock().now()):
            fail(NotFound("name", f"no live user {name[:64]!r}"), source="")
    typer.echo(f"disabled {name}")


@user_app.command("list")
def list_users(db: DbOption = None) -> None:
    """The users (names, roles, scopes, when created and disabled, whether locked out): never a password."""
    now = SystemClock().now()
    with _users(db) as users:
        stored = users.users()
    table = Table(title=f"Console users ({len(stored)})")
    for column in ("name", "roles", "scope", "created", "disabled", "locked until"):
        table.add_column(column)
    for user in stored:
        disabled = to_vietnam_time(user.disabled_at).isoformat(timespec="minutes") if user.disabled_at else ""
        locked = (to_vietnam_time(user.locked_until).isoformat(timespec="minutes")
                  if user.locked_until is not None and user.locked(now) else "")
        table.add_row(user.name, ", ".join(user.roles), user.scope_text,
                      to_vietnam_time(user.created_at).isoformat(timespec="minutes"), disabled, locked)
    _out.print(table)


@contextmanager
def _users(db: str | None) -> Iterator[UserStore]:
    backend = open_backend(database_url(db))
    try:
        try:
            _durable(backend.durable)
        except InvalidInput as error:
            fail(error, source="")
        yield backend.users
    finally:
        backend.close()


def _durable(durable: bool) -> None:
    if not durable:
        raise InvalidInput("--db", "users of memory:// live inside one server process: use a SQL database")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
