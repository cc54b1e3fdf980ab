"""The composition root of `tpd run`: assembles one plugin process and runs it.

A process is: logging set up from `[log]` (secrets redacted), the config's warnings logged, the
`Daemon`, SIGTERM/SIGINT handling, and the `[metrics] listen` endpoints, served from before
start-up until the end (so /healthz answers while Teleport or PagerDuty are still being reached).
The pieces know nothing of each other; this module is the only place that puts them together.
The CLI parses options and calls `run`; other programs can call `run_plugin` on their own loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from teleport_pd_cli._exceptions import TpdError
from teleport_pd_cli.config import Config, ConfigWarning
from teleport_pd_cli.daemon import Daemon
from teleport_pd_cli.ops.logsetup import setup_logging
from teleport_pd_cli.ops.signals import install_stop_signals

__all__ = ["run", "run_plugin"]

logger = logging.getLogger(__name__)


def run(
    config: Config,
    warnings: Sequence[ConfigWarning] = (),
    *,
    debug: bool = False,
    startup_timeout: float | None = None,
) -> int:
    """`tpd run`: set up logging, log the config's warnings, run the plugin until it is stopped.
    Returns the exit code; raises TpdError for a fatal problem (already logged)."""
    if debug:
        config = config.with_severity("debug")
    setup_logging(
        config.log.output, config.log.severity, config.log.format, secrets=config.secrets()
    )
    if debug:
        logger.debug("DEBUG logging enabled")
    for warning in warnings:
        logger.warning("%s", warning, extra={"config_key": warning.key})
    return asyncio.run(run_plugin(config, startup_timeout=startup_timeout))


async def run_plugin(config: Config, *, startup_timeout: float | None = None) -> int:
    """Run the daemon with SIGTERM / SIGINT handling and the metrics endpoints until stopped.

    Returns the exit code, 0, after a graceful stop. A fatal error is logged ("Terminating with
    fatal error: ...") and raised again as `TpdError`, which the CLI prints as `Error: ...` with
    exit code 1. A second SIGINT ends the process at once with status 130.
    """
    from teleport_pd_cli.ops.endpoints import serve_metrics

    daemon = Daemon(config, startup_timeout=startup_timeout)
    restore = install_stop_signals(asyncio.get_running_loop(), daemon.request_stop)
    try:
        # TpdError when it cannot listen; None when [metrics] listen is empty.
        server = await serve_metrics(config.metrics, daemon, pagerduty=config.pagerduty)
        try:
            await daemon.run()
        finally:
            if server is not None:
                await server.aclose()
    except TpdError as exc:
        logger.error("Terminating with fatal error: %s", exc)
        raise
    finally:
        restore()
    logger.info("Successfully shut down")
    return 0
