"""The ``dmarc-audit`` command line. Heavy modules are imported inside commands."""

from __future__ import annotations

import sys

import typer

from dmarc_audit import __version__
from dmarc_audit.errors import InputError
from dmarc_audit.exit_status import ExitStatus


class HelpGroup(typer.core.TyperGroup):
    """A command group whose help lists each command's first sentence whole, folded
    to the terminal width (click cuts it with "..." at a fixed length)."""

    def format_commands(self, ctx, formatter) -> None:  # type: ignore[no-untyped-def]
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="dmarc-audit",
    cls=HelpGroup,
    help="Audit email authentication: SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT and BIMI.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dmarc-audit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """Audit email authentication: SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT and BIMI."""


def _register() -> None:
    from dmarc_audit.cli import check, config_cmd, diff, digest, explain, message, reports, spf

    app.command("check")(check.check_command)
    app.command("spf")(spf.spf_command)
    app.command("message")(message.message_command)
    app.add_typer(reports.reports_app, name="reports", cls=HelpGroup)
    app.command("diff")(diff.diff_command)
    app.command("digest")(digest.digest_command)
    app.add_typer(config_cmd.config_app, name="config", cls=HelpGroup)
    app.command("explain")(explain.explain_command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors, exit 2 for bad input, no tracebacks."""
    try:
        from typer._click import exceptions as click_exc
    except ImportError:  # typer releases that depend on click
        from click import exceptions as click_exc  # type: ignore[no-redef]

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="dmarc-audit", standalone_mode=False)
    except click_exc.NoArgsIsHelpError as exc:
        # no command given: the help as --help shows it (on stderr: it was not asked for)
        sys.stderr.write(exc.format_message().rstrip("\n") + "\n")
        sys.exit(ExitStatus.USAGE)
    except click_exc.UsageError as exc:
        if isinstance(exc, click_exc.NoSuchOption):
            _drop_hidden_suggestions(exc)
        message = exc.format_message().replace("\n", " ")
        where = exc.ctx.command_path if exc.ctx is not None else "dmarc-audit"
        _fail(f"{where}: {message} (see '{where} --help')")
    except InputError as exc:
        _fail(str(exc))
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("dmarc-audit: interrupted\n")
        sys.exit(130)
    except click_exc.ClickException as exc:
        _fail(exc.format_message())
    except BrokenPipeError:
        sys.exit(0)
    _exit(int(code or 0), argv)


FAST_EXIT_COMMANDS = frozenset({"check", "spf", "message", "diff", "explain"})
"""Commands that hold no open file or database when they return."""


def _exit(code: int, argv: list[str] | None) -> None:
    """Exit; after a read-only command run as a program, skip the interpreter's teardown.

    Tearing down tens of thousands of objects (DNS answers, findings) costs a bulk
    run 0.2-0.4 s; these commands have written everything to stdout/stderr already.
    In-process callers (``main([...])``, tests) always get a normal ``SystemExit``.
    """
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    if argv is None and command in FAST_EXIT_COMMANDS:
        import os

        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            os._exit(0)
        os._exit(code)
    sys.exit(code)


def _drop_hidden_suggestions(exc: Exception) -> None:
    """Never suggest a hidden option (``--smtp-pass`` must not lead to ``--smtp-password``,
    which exists only to refuse a password on the command line)."""
    ctx = getattr(exc, "ctx", None)
    possibilities = getattr(exc, "possibilities", None)
    if ctx is None or not possibilities:
        return
    hidden: set[str] = set()
    visible: list[str] = []
    for param in ctx.command.params:
        names = (*param.opts, *param.secondary_opts)
        (hidden.update if getattr(param, "hidden", False) else visible.extend)(names)
    typed = getattr(exc, "option_name", "") or ""
    longer = [name for name in visible if typed and name.startswith(typed)]
    kept = [p for p in possibilities if p not in hidden]
    exc.possibilities = list(dict.fromkeys(longer + kept))  # type: ignore[attr-defined]


def _fail(message: str) -> None:
    from dmarc_audit.redact import redact_urls

    sys.stderr.write(f"dmarc-audit: error: {redact_urls(message)}\n")
    sys.exit(ExitStatus.USAGE)
