"""``dmarc-audit config show``: the effective settings of the policy file."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from dmarc_audit.cli.check import ConfigOpt

config_app = typer.Typer(
    name="config",
    help="Inspect the policy file (dmarc-audit.yaml).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class ShowFormat(str, Enum):
    """Output formats of ``config show``."""

    YAML = "yaml"
    JSON = "json"


@config_app.command("show")
def show_command(
    config: ConfigOpt = None,
    output_format: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="yaml (loadable as a policy file) or json.")
    ] = ShowFormat.YAML,
) -> None:
    """Print the effective settings: the policy file with every default filled in."""
    from dmarc_audit.config import find_config, load_config, resolve_settings

    path = find_config(config)
    settings = resolve_settings(load_config(path) if path is not None else None)
    data = settings.to_data()
    if output_format is ShowFormat.JSON:
        from dmarc_audit.output.console import print_json

        print_json({"schema_version": 1, "config": settings.config_path, "settings": data})
        return
    import yaml

    source = settings.config_path or "no policy file (defaults only)"
    typer.echo(f"# effective settings from {source}")
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
