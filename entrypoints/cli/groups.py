"""Command groups several CLI modules add to (``motcua report …``)."""

from __future__ import annotations

import typer

__all__ = ["report_group"]


def report_group(app: typer.Typer) -> typer.Typer:
    """The ``report`` group, created by whichever module registers first and shared by the others."""
    for group in app.registered_groups:
        if group.name == "report" and group.typer_instance is not None:
            return group.typer_instance
    report = typer.Typer(help="Báo cáo (reports).", no_args_is_help=True, add_completion=False)
    app.add_typer(report, name="report")
    return report
