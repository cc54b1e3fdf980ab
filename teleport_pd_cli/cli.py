"""The `tpd` command line: parses options, calls the libraries, turns errors into exit codes.

Heavy imports (grpc, httpx, cryptography) happen inside the commands, so `tpd --help` stays fast.
"""

from __future__ import annotations

import click

from teleport_pd_cli._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tpd")
def cli() -> None:
    """Teleport access requests as PagerDuty incidents, with on-call auto-approval."""


@cli.command()
def version() -> None:
    """Print the version of tpd and of the libraries it runs on."""
    click.echo(f"tpd v{__version__}")


def main() -> None:
    """Console-script entry point."""
    cli()
