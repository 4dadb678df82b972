"""``motcua definitions repin NAME``: the way out for a definition corrected in place.

A database pins the digest of every workflow version and rule set it was first opened with, and every later start
whose copy of one has another digest is refused (:mod:`motcua.workflow.engine.pins`). A change of rules belongs in a
new version file (a new rule set for a new legal frame); only a correction that must reach the cases already running
is re-pinned, one definition at a time, by its file's name: ``tthc-dossier.v1`` (a workflow version), ``nd118-2025``
(a rule set). The command prints the digest pinned and the digest of the definition as loaded now, and writes the new
one only with ``--apply`` (or when the question asked on a terminal is answered yes), only while the pin is still
the one it printed. It opens the database without the check it exists to get past.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from typing import Annotated, Final

import structlog
import typer
from rich.console import Console

from motcua.adapters.backends import open_backend
from motcua.adapters.bootstrap import database_url
from motcua.definitions.pins import loaded_digests
from motcua.entrypoints.cli.terminal import flagged, terminal
from motcua.entrypoints.cli.usage import refusal
from motcua.workflow.engine.pins import WORKFLOW, Pin
from motcua.workflow.errors import InvalidInput, NotFound

__all__ = ["definitions_app", "parse_name", "repin"]

definitions_app = typer.Typer(help="Định nghĩa quy trình và bộ quy tắc (workflow versions, rule sets) of a database.",
                              no_args_is_help=True, add_completion=False)
_log = structlog.get_logger("motcua.definitions")
_WORKFLOW_VERSION: Final = re.compile(r"([a-z][a-z0-9-]{0,63})\.v([1-9][0-9]{0,8})")  # tthc-dossier.v1
_RULE_SET: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # nd118-2025
_SHAPE: Final = ("a workflow version as its file is named, KEY.vN (tthc-dossier.v1), or a rule set's key "
                 "(nd118-2025): lower-case letters, digits and '-', at most 64 before '.v'")


def parse_name(text: str) -> Pin:
    """The definition ``text`` names; :class:`InvalidInput` (``NAME``, the shape wanted, never the text) otherwise."""
    if (version := _WORKFLOW_VERSION.fullmatch(text)) is not None:
        return Pin.workflow(version[1], int(version[2]))
    if _RULE_SET.fullmatch(text) is not None:
        return Pin.rule_set(text)
    raise InvalidInput("NAME", _SHAPE)


@definitions_app.command("repin")
def repin(
    name: Annotated[str, typer.Argument(
        help="tthc-dossier.v1 (a workflow version, as its file is named) or nd118-2025 (a rule set).")],
    *,
    apply: Annotated[bool, typer.Option("--apply", help="Ghim lại (without it: only the digests).")] = False,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")] = None,
) -> None:
    """Ghim lại một định nghĩa đã sửa tại chỗ: in mã băm đã ghim và mã băm mới; chỉ ghi khi có --apply."""
    pinned_name = parse_name(name)  # refused before anything is read, let alone a database opened
    out, err = terminal(), terminal(stderr=True)
    loaded = loaded_digests()  # every file read as a start reads it: a broken one is refused here too
    new = loaded.get(pinned_name)
    if new is None:
        raise NotFound("NAME", f"no {pinned_name} among the definitions loaded ({_loaded(loaded, pinned_name)})")
    backend = open_backend(database_url(db))
    try:
        old = backend.pins.pinned().get(pinned_name)
        _show(out, pinned_name, old, new)
        if old is None or old == new:
            out.print("Không có gì để ghim lại: " + ("chưa được ghim; lần khởi động tới sẽ ghim nó như hiện nay."
                                                     if old is None else "định nghĩa không đổi."), highlight=False)
            return
        out.print(f"Ghim lại: các hồ sơ đang chạy theo {pinned_name} sẽ tiếp tục theo định nghĩa như hiện nay "
                  "(chỉ dùng cho một sửa chữa; một thay đổi quy tắc là một phiên bản mới).", highlight=False)
        if not apply and sys.stdin.isatty():
            apply = typer.confirm(f"Ghim lại {pinned_name}?", default=False)
        if not apply:
            out.print("Chưa ghi gì: chạy lại với --apply để ghim lại.", highlight=False)
            return
        if not backend.pins.repin(pinned_name, old, new, datetime.now(UTC)):
            raise refusal(err, f"the pin of {pinned_name} changed while this command ran (another re-pin?): nothing "
                               "was written; run the command again")
    finally:
        backend.close()
    _log.info("definition.repinned", kind=pinned_name.kind, key=pinned_name.key, version=pinned_name.version,
              old=old, new=new, by="cli")  # an operator's act, on the record
    out.print(flagged(f"Đã ghim lại {pinned_name}", "green", f": sha256 {new}. Khởi động lại các tiến trình đang "
                      "chạy (serve, worker) để tất cả dùng định nghĩa này."), highlight=False)


def _show(out: Console, name: Pin, old: str | None, new: str) -> None:
    out.print(f"{name} ({name.file_name}.yaml)", highlight=False)
    out.print(f"  đã ghim (pinned): {'—' if old is None else f'sha256 {old}'}", highlight=False)
    out.print(f"  hiện nay (loaded): sha256 {new}", highlight=False)


def _loaded(loaded: dict[Pin, str], wanted: Pin) -> str:
    """The names of the definitions of ``wanted``'s kind, for a refusal; for a rule set's name that is a workflow's
    key, its versions."""
    names = sorted(name.file_name for name in loaded if name.kind == wanted.kind)
    kind = "workflow versions" if wanted.kind == WORKFLOW else "rule sets"
    listed = f"{kind}: {', '.join(names)}" if names else f"no {kind}"
    versions = sorted(name.file_name for name in loaded if name.kind == WORKFLOW and name.key == wanted.key)
    if wanted.kind != WORKFLOW and versions:
        listed += f"; a workflow version is named with its version: {', '.join(versions)}"
    return listed
