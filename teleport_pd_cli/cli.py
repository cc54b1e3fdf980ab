"""The `tpd` command line: parses options, calls the libraries, turns errors into exit codes.

Heavy imports (grpc, httpx, cryptography, tomlkit, the `where` language) happen inside the
commands, so `tpd --help` stays fast. Shared pieces for commands:

* `@handle_errors`: tpd's and the libraries' base errors become `Error: <message>` on stderr and
  exit code 1 (`CliError` carries another code when a command documents one).
* `@config_option`: `-c/--config PATH`, default `/etc/teleport-pagerduty.toml`, or `TPD_CONFIG`.
* `load_config_reporting(path)`: load the config and print its warnings to stderr.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from teleport_pd_cli._version import __version__

if TYPE_CHECKING:
    from teleport_access.where import Context
    from teleport_pd_cli.config import Config
    from teleport_pd_cli.tools.explain import OnCallExplanation, RequestExplanation

    Explanation = OnCallExplanation | RequestExplanation

P = ParamSpec("P")
R = TypeVar("R")

# Copies of config.DEFAULT_CONFIG_PATH and render.FORMATS (test_cli checks they agree): importing
# the config package (attrs classes, the loader) would add ~50 ms to `tpd --help`.
DEFAULT_CONFIG_PATH = "/etc/teleport-pagerduty.toml"
RENDER_FORMATS = ("toml", "helm", "systemd", "markdown", "kubernetes", "dockerfile", "grafana")
#: Files that will hold secrets once filled in are created readable by their owner only.
_PRIVATE_FORMATS = frozenset({"toml", "helm"})


class CliError(click.ClickException):
    """`Error: <message>` on stderr and exit code 1."""

    exit_code = 1


class InputError(CliError):
    """`Error: <message>` and exit code 2: the input (an expression, a JSON value) is wrong, for
    commands whose exit codes 0 and 1 answer a question."""

    exit_code = 2


def _known_errors() -> tuple[type[Exception], ...]:
    # Imported here, not at module level, to keep `tpd --help` free of library imports.
    from teleport_access._exceptions import TeleportError
    from teleport_pd_cli._exceptions import TpdError

    return (TpdError, TeleportError)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn tpd's and the libraries' base errors into `Error: <message>` and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, _known_errors()):
                raise CliError(str(exc)) from exc
            raise

    return wrapper


def config_option(command: Callable[P, R]) -> Callable[P, R]:
    """`-c/--config PATH` (env TPD_CONFIG, default /etc/teleport-pagerduty.toml)."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        envvar="TPD_CONFIG",
        default=DEFAULT_CONFIG_PATH,
        show_default=True,
        help="Config file (also TPD_CONFIG).",
    )(command)


def load_config_reporting(path: str) -> Config:
    """Load the config, printing each warning to stderr as `Warning: <message>`."""
    from teleport_pd_cli.config import load_config

    config, warnings = load_config(path)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    return config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tpd")
def cli() -> None:
    """Teleport access requests as PagerDuty incidents, with on-call auto-approval."""


@cli.command()
def version() -> None:
    """Print the version of tpd and of the Python it runs on."""
    click.echo(f"tpd v{__version__} python{platform.python_version()}")


# -- run ------------------------------------------------------------------------------------------


def _run_options(command: Callable[P, R]) -> Callable[P, R]:
    """The options of `tpd run` (and of its hidden alias `start`)."""
    command = click.option(
        "--startup-timeout",
        metavar="DURATION",
        help="Give up (exit 1) when Teleport or PagerDuty cannot be reached within DURATION "
        '(e.g. "2m"). Default: keep retrying.',
    )(command)
    command = click.option(
        "-d", "--debug", is_flag=True, help="Log at debug severity, whatever [log] severity says."
    )(command)
    return config_option(command)


def _run_daemon(config_path: str, debug: bool, startup_timeout: str | None) -> None:
    from teleport_pd_cli import app
    from teleport_pd_cli.config import load_config, parse_duration

    timeout: float | None = None
    if startup_timeout is not None:
        try:
            timeout = parse_duration(startup_timeout).total_seconds()
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--startup-timeout") from None
        if timeout <= 0:
            raise click.BadParameter("must be positive", param_hint="--startup-timeout")
    config, warnings = load_config(config_path)
    code = app.run(config, warnings, debug=debug, startup_timeout=timeout)
    click.get_current_context().exit(code)


@cli.command()
@_run_options
@handle_errors
def run(config_path: str, debug: bool, startup_timeout: str | None) -> None:
    """Run the plugin: page, note, resolve and approve until SIGTERM or SIGINT.

    Starts by checking the credentials, Teleport (6.1.0 or newer) and the PagerDuty API key,
    retrying while either cannot be reached. SIGTERM or SIGINT stops taking events and lets
    those in flight finish ([tpd] shutdown_grace, 15 s); a second SIGINT exits at once.
    Exit status: 0 after a graceful stop, 1 on a fatal error (printed as `Error: ...`).
    """
    _run_daemon(config_path, debug, startup_timeout)


@cli.command("start", hidden=True)
@_run_options
@handle_errors
def start(config_path: str, debug: bool, startup_timeout: str | None) -> None:
    """The Go plugin's name for `run` (its container image runs `start --config ...`)."""
    _run_daemon(config_path, debug, startup_timeout)


# -- render-config --------------------------------------------------------------------------------


def _write_file(path: Path, text: str, *, private: bool, force: bool) -> None:
    """Write `text` to `path` atomically; never replace an existing file without `force`."""
    if path.exists() and not force:
        raise CliError(f"{path} exists; use --force to replace it")
    directory = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600 if private else 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


@cli.command("render-config")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(RENDER_FORMATS),
    default="toml",
    show_default=True,
    help="toml: a commented config; helm: Helm chart values; systemd: a unit file; "
    "markdown: the configuration reference (docs/config.md); kubernetes: a two-replica "
    "manifest; dockerfile: a container image; grafana: a dashboard over tpd's metrics (the "
    "files in deploy/).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option(
    "--exec-path",
    metavar="PATH",
    help="systemd only: the tpd executable.  [default: /usr/local/bin/tpd]",
)
@click.option(
    "--config-path",
    metavar="PATH",
    help=f"systemd only: the config file the unit runs with.  [default: {DEFAULT_CONFIG_PATH}]",
)
@handle_errors
def render_config(
    fmt: str, output: Path | None, force: bool, exec_path: str | None, config_path: str | None
) -> None:
    """Print a complete, commented config, or a deployment file (Helm values, a systemd unit,
    a Kubernetes manifest, a Dockerfile, a Grafana dashboard).

    The TOML shows every key with its default; fill in the Teleport address and credentials and
    the PagerDuty API key and user email, and `tpd run` accepts it.
    """
    from teleport_pd_cli.config import render

    if fmt != "systemd" and (exec_path is not None or config_path is not None):
        raise click.UsageError("--exec-path and --config-path apply to --format systemd only")
    exec_path = exec_path or render.DEFAULT_EXEC_PATH
    if not os.path.isabs(exec_path):
        raise click.UsageError(f"--exec-path must be an absolute path, got {exec_path!r}")
    text = render.render(fmt, exec_path=exec_path, config_path=config_path or DEFAULT_CONFIG_PATH)
    if output is None:
        click.echo(text, nl=False)
        return
    _write_file(output, text, private=fmt in _PRIVATE_FORMATS, force=force)
    click.echo(f"Wrote {output}", err=True)


# -- where ----------------------------------------------------------------------------------------

#: The JSON shape of each --option: key -> "list" (of strings), "str" or "labels".
_SHAPES: dict[str, dict[str, str]] = {
    "request": {"roles": "list", "reason": "str", "system_annotations": "labels"},
    "reviewer": {"roles": "list", "traits": "labels"},
    "review": {"reason": "str", "annotations": "labels"},
}


def _json_part(option: str, text: str | None) -> dict[str, Any]:
    """Parse and check one --request/--reviewer/--review value (`@FILE` reads a file)."""
    shape = _SHAPES[option]
    value = _json_object(option, text, expected=f"a JSON object with {', '.join(shape)}")
    for key, item in value.items():
        kind = shape.get(key)
        if kind is None:
            raise InputError(f"--{option}: unknown key {key!r} (expected {', '.join(shape)})")
        ok = (
            (kind == "str" and isinstance(item, str))
            or (kind == "list" and isinstance(item, list) and all(isinstance(s, str) for s in item))
            or (
                kind == "labels"
                and isinstance(item, dict)
                and all(
                    isinstance(v, list) and all(isinstance(s, str) for s in v)
                    for v in item.values()
                )
            )
        )
        if not ok:
            expected = {
                "str": "a string",
                "list": "a list of strings",
                "labels": 'an object of string lists, e.g. {"k": ["v"]}',
            }[kind]
            raise InputError(f"--{option}: {key!r} must be {expected}")
    return value


def _where_context(request: str | None, reviewer: str | None, review: str | None) -> Context:
    from teleport_access.where import Context, Request, Review, Reviewer

    return Context(
        request=Request(**_json_part("request", request)),
        reviewer=Reviewer(**_json_part("reviewer", reviewer)),
        review=Review(**_json_part("review", review)),
    )


@cli.group()
def where() -> None:
    """Teleport's `review_requests.where` and threshold-filter language."""


@where.command("check")
@click.argument("expression")
@click.option(
    "--filter",
    "is_filter",
    is_flag=True,
    help="EXPRESSION is a threshold filter (may use review.*), not a review `where`.",
)
@click.option(
    "--request", metavar="JSON", help='{"roles": [...], "reason": "...", "system_annotations": {}}'
)
@click.option("--reviewer", metavar="JSON", help='{"roles": [...], "traits": {"k": [...]}}')
@click.option(
    "--review", metavar="JSON", help='With --filter: {"reason": "...", "annotations": {}}'
)
@click.option("--legacy", is_flag=True, help="Use the legacy dialect of older Teleport versions.")
@handle_errors
def where_check(
    expression: str,
    is_filter: bool,
    request: str | None,
    reviewer: str | None,
    review: str | None,
    legacy: bool,
) -> None:
    """Check EXPRESSION and show its value against the given request, reviewer and review.

    JSON values may be given inline or as @FILE; missing parts are empty. Prints every
    sub-expression with its value. Exit status: 0 true, 1 false, 2 an error in the
    expression (shown with a caret) or in the JSON.
    """
    from teleport_access.where import WhereError, parse

    if review is not None and not is_filter:
        raise InputError("--review applies to threshold filters only (add --filter)")
    context = _where_context(request, reviewer, review)
    try:
        parsed = parse(
            expression,
            kind="filter" if is_filter else "where",
            dialect="legacy" if legacy else "typical",
        )
        value = parsed.evaluate(context)
        explanation = parsed.explain(context)
    except WhereError as exc:
        raise InputError(str(exc)) from None
    click.echo(str(explanation))
    click.get_current_context().exit(0 if value else 1)


# -- check-oncall ---------------------------------------------------------------------------------


@cli.command("check-oncall")
@click.argument("email")
@click.argument("services", metavar="SERVICE [SERVICE...]", nargs=-1, required=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of text.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show each PagerDuty check of the auto-approval with its evidence (the user or the "
    "near misses, services, on-call entries, levels). Exit status: 0 approvable, 1 not.",
)
def check_oncall(
    email: str, services: tuple[str, ...], config_path: str, as_json: bool, explain: bool
) -> None:
    """Is EMAIL on call now for any of the PagerDuty SERVICEs?

    Asks PagerDuty what the plugin asks before it auto-approves a request, with the config's
    [pagerduty] settings (the [teleport] part may be absent). Prints the services, escalation
    policies and levels. Exit status: 0 on call, 1 not on call, 2 the question cannot be
    answered (no such user or service, refused API key, PagerDuty unreachable, bad config).
    """
    import asyncio

    from teleport_pd_cli._exceptions import TpdError
    from teleport_pd_cli.tools import explain as explained
    from teleport_pd_cli.tools import oncall

    def fail(message: str) -> None:
        if as_json and explain:
            document = explained.error_json(message, email=email, service_names=list(services))
            click.echo(json.dumps(document, indent=2))
        elif as_json:
            click.echo(json.dumps(oncall.error_json(email, message), indent=2))
        raise InputError(message)

    try:
        settings, warnings = oncall.load_pagerduty_settings(config_path)
    except TpdError as exc:
        fail(str(exc))
        return
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    if explain:
        try:
            explanation = asyncio.run(explained.explain_oncall(settings, email, services))
        except TpdError as exc:
            fail(str(exc))
            return
        _print_explanation(explanation, as_json=as_json)
        return
    try:
        answer = asyncio.run(oncall.check_oncall(settings, email, services))
    except TpdError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(answer.to_json(), indent=2))
    else:
        for line in answer.lines():
            click.echo(line)
    click.get_current_context().exit(0 if answer.on_call else 1)


def _print_explanation(explanation: Explanation, *, as_json: bool) -> None:
    """Print an explanation as text or JSON and exit with its status."""
    if as_json:
        click.echo(json.dumps(explanation.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(explanation.lines()))
    click.get_current_context().exit(explanation.exit_code)


# -- explain --------------------------------------------------------------------------------------


@cli.command()
@click.argument("request_id")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of text.")
def explain(request_id: str, config_path: str, as_json: bool) -> None:
    """Explain what tpd would do now about the access request REQUEST_ID, step by step.

    Shows the request, its route (Access Monitoring Rules or annotation) and PagerDuty service,
    what tpd already did (plugin data, incident status), and every check of the auto-approval
    in the daemon's order with its evidence, then the verdict. Reads, never writes. Exit
    status: 0 the request would be approved now, 1 it would not, 2 the question cannot be
    answered (no such request, refused credentials, PagerDuty unreachable, bad config).
    """
    import asyncio

    from teleport_pd_cli._exceptions import TpdError
    from teleport_pd_cli.tools import explain as tool

    try:
        config = load_config_reporting(config_path)
        explanation = asyncio.run(tool.explain_request(config, request_id))
    except TpdError as exc:
        if as_json:
            document = tool.error_json(str(exc), request_id=request_id)
            click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        raise InputError(str(exc)) from None
    _print_explanation(explanation, as_json=as_json)


# -- doctor ---------------------------------------------------------------------------------------


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of the checks.")
def doctor(config_path: str, as_json: bool) -> None:
    """Check the config, credentials, Teleport and PagerDuty, one line per check.

    Each line starts with ok, warn, fail or skip and says what to fix. Exit status: 0 when
    nothing failed (warnings allowed), 1 when a check failed.
    """
    import asyncio

    from teleport_pd_cli.tools import doctor as checks

    async def run() -> list[checks.CheckResult]:
        results = []
        async for result in checks.diagnose(config_path):
            results.append(result)
            if not as_json:
                click.echo(checks.format_result(result))
        return results

    results = asyncio.run(run())
    failed = sum(result.status is checks.Status.FAIL for result in results)
    if as_json:
        click.echo(json.dumps([result.to_json() for result in results], indent=2))
    else:
        warned = sum(result.status is checks.Status.WARN for result in results)
        click.echo(f"\n{len(results)} checks: {failed} failed, {warned} warnings.")
    click.get_current_context().exit(1 if failed else 0)


# -- rules ----------------------------------------------------------------------------------------


@cli.group()
def rules() -> None:
    """Access Monitoring Rules: check a condition, list the rules, explain a request's route."""


@rules.command("check")
@click.argument("condition")
@click.option(
    "--request",
    metavar="JSON",
    help='{"user", "roles", "suggested_reviewers", "reason", "system_annotations", "created", '
    '"expires", "resource_labels"} (times in RFC 3339; resource_labels: one label map per '
    "requested resource)",
)
@click.option("--user", "user_json", metavar="JSON", help='{"traits": {"team": ["db"]}}')
@handle_errors
def rules_check(condition: str, request: str | None, user_json: str | None) -> None:
    """Check a rule CONDITION and show its value against the given request and user.

    JSON values may be given inline or as @FILE; missing parts are empty. Prints every
    sub-expression with its value. Exit status: 0 the condition matches, 1 it does not (a
    non-boolean value included), 2 an error in the condition (shown with a caret) or the JSON.
    """
    from teleport_pd_cli.tools import rules as tool

    try:
        env = tool.environment_from_json(
            _json_object("request", request), _json_object("user", user_json)
        )
    except tool.RulesInputError as exc:
        raise InputError(str(exc)) from None
    answer = tool.check_condition(condition, env)
    click.echo(answer.text)
    click.get_current_context().exit(answer.exit_code)


@rules.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of text.")
@handle_errors
def rules_list(config_path: str, as_json: bool) -> None:
    """The Access Monitoring Rules the plugin user sees, and whether each routes incidents."""
    import asyncio

    from teleport_pd_cli.clients import auth_client
    from teleport_pd_cli.tools import rules as tool

    config = load_config_reporting(config_path)

    async def run() -> list[tool.RuleRow]:
        async with auth_client(config.teleport) as client:
            return await tool.list_rules(client)

    rows = asyncio.run(run())
    if as_json:
        click.echo(tool.rows_json(rows))
        return
    for row in rows:
        click.echo("\n".join(row.lines()))
    applying = sum(row.applies for row in rows)
    click.echo(f"\n{len(rows)} rule(s), {applying} route PagerDuty incidents.")


@rules.command("explain")
@click.argument("request_id")
@config_option
@handle_errors
def rules_explain(request_id: str, config_path: str) -> None:
    """Explain where the live request REQUEST_ID is paged, rule by rule.

    Shows each applicable rule's schedules and condition with its value, and the route: the
    rule's service, the annotation's, or why it is not paged. Reads, never writes. Exit
    status: 0 the request is paged, 1 it is not.
    """
    import asyncio

    from teleport_pd_cli.clients import auth_client
    from teleport_pd_cli.tools import rules as tool

    config = load_config_reporting(config_path)

    async def run() -> tool.RoutingExplanation:
        async with auth_client(config.teleport) as client:
            return await tool.explain_routing(
                client,
                request_id,
                notify_annotation=config.pagerduty.request_annotations.notify_service,
            )

    explanation = asyncio.run(run())
    click.echo("\n".join(explanation.lines()))
    click.get_current_context().exit(0 if explanation.paged else 1)


def _json_object(
    option: str, text: str | None, *, expected: str = "a JSON object"
) -> dict[str, Any]:
    """A JSON object given inline or as @FILE (empty when absent)."""
    if text is None:
        return {}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise InputError(f"--{option}: cannot read {text[1:]}: {reason}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--{option}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(value, dict):
        raise InputError(f"--{option}: expected {expected}")
    return value


# -- demo -----------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--keep-running",
    is_flag=True,
    help="Afterwards, leave the fakes and the plugin running (addresses and config printed) "
    "until Ctrl-C.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of the story.")
@click.option("-v", "--verbose", is_flag=True, help="Show the plugin's debug log on stderr.")
@click.option(
    "--step-timeout",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds to wait for each thing the plugin should do.",
)
def demo(keep_running: bool, as_json: bool, verbose: bool, step_timeout: float) -> None:
    """Run the guide end to end with no Teleport and no PagerDuty account.

    Starts a fake Teleport Auth Service and a fake PagerDuty on 127.0.0.1, seeds the guide's
    services, roles and users, runs the real plugin against them, creates the guide's two
    access requests and shows what happens, as observed in the fakes. Exit status: 0 when
    every step was observed, 1 when one was not (with what was expected).
    """
    import asyncio
    import sys

    from teleport_pd_cli.tools.demo import run_demo

    try:
        report = asyncio.run(
            run_demo(
                sys.stdout,
                as_json=as_json,
                keep_running=keep_running,
                step_timeout=step_timeout,
                log_to_stderr=verbose,
            )
        )
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        click.get_current_context().exit(130)
    click.get_current_context().exit(0 if report.ok else 1)


def main() -> None:
    """Console-script entry point."""
    cli()
