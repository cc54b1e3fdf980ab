"""Every exception `teleport_pd_cli` raises itself.

    TpdError                  base: the CLI turns it into `Error: <message>` and a non-zero exit
    ├── ConfigError           the config file (or an environment variable) is unreadable or invalid
    ├── CredentialsUnusable   the configured Teleport credentials are missing, unreadable, expired
    ├── StartupError          `tpd run` cannot start; the message says what to fix
    ├── StartupAborted        a stop came (or the start-up deadline passed) before it was ready
    ├── OnCallError           `tpd check-oncall` cannot answer its question
    ├── ExplainError          `tpd explain` cannot answer its question
    └── DemoFailed            a step of `tpd demo` did not happen as expected

The libraries raise their own trees (`teleport_access.TeleportError`,
`pagerduty_client`'s base error); the daemon and the CLI translate or report those.
"""

from __future__ import annotations


class TpdError(Exception):
    """Base of every error raised by teleport_pd_cli. The message is complete and user-facing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(TpdError):
    """The configuration cannot be used. The message names the file and the key.

    `path` is the config file (None for settings built in code), `key` the dotted key such as
    `pagerduty.api_key` (None when the problem is the file itself, e.g. malformed TOML), and
    `line`/`column` are set for TOML syntax errors (1-based).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        key: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.key = key
        self.line = line
        self.column = column


class CredentialsUnusable(TpdError):
    """The configured Teleport credentials are missing, unreadable or expired."""


class StartupError(TpdError):
    """A problem that stops the daemon from starting; the message says what to fix."""


class StartupAborted(TpdError):
    """A stop was requested (or the start-up deadline passed) before the daemon was ready."""


class OnCallError(TpdError):
    """The on-call question cannot be answered: the message is one line naming the problem."""


class ExplainError(TpdError):
    """`tpd explain` cannot answer: the request does not exist, Teleport or PagerDuty refused
    the credentials or cannot be reached. The message names the problem."""


class DemoFailed(TpdError):
    """A step of the demo did not happen as expected; the message says what was expected and
    what was observed instead."""

    def __init__(self, expected: str, observed: str) -> None:
        super().__init__(f"expected {expected}; observed {observed}")
        self.expected = expected
        self.observed = observed
