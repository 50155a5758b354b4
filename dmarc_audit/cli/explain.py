"""``dmarc-audit explain ID``: what a check means and how to fix it."""

from __future__ import annotations

from typing import Annotated

import typer

from dmarc_audit.errors import InputError

NOT_CHECKED_YET = "status: not checked yet (planned; dmarc-audit does not report this id today)"


def explain_command(
    check_id: Annotated[
        str, typer.Argument(metavar="ID", help="A check id, e.g. spf.too-many-lookups.")
    ],
) -> None:
    """Explain a check: what triggers it, why it matters, how to fix it."""
    from dmarc_audit.catalog import UnknownCheckId, lookup

    try:
        info = lookup(check_id)
    except UnknownCheckId as exc:
        hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        raise InputError(f"unknown check id {check_id!r}{hint}") from None
    lines = [
        f"{info.id}: {info.title}",
        *([NOT_CHECKED_YET] if info.planned else []),
        f"severity: {info.severity_note}",
        "",
        f"Triggers when: {info.triggers}",
        "",
        f"Why it matters: {info.why}" if info.why else "",
        "",
        f"How to fix: {info.fix}",
        "",
        "References: " + "; ".join(info.references),
    ]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    typer.echo(text)
