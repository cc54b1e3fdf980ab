"""tpd's configuration: the settings classes (each TOML key declared once, on its field) and the
loader that reads a file into them. Light on purpose (attrs and the standard library): the
commented-file renderer, which needs tomlkit, is the separate `teleport_pd_cli.config.render`."""

from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli.config._fields import format_duration, parse_duration
from teleport_pd_cli.config._loader import (
    API_KEY_FILE_LIMIT,
    ConfigWarning,
    config_from_document,
    load_config,
    parse_config,
    read_config_document,
)
from teleport_pd_cli.config._settings import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_OAUTH_SCOPES,
    DEFAULT_OAUTH_TOKEN_URL,
    DEFAULT_TELEPORT_ADDR,
    PAGERDUTY_OPERATIONS,
    AutoApprovalSettings,
    Config,
    DaemonSettings,
    LogSettings,
    MetricsSettings,
    PagerDutySettings,
    RequestAnnotations,
    TeleportSettings,
    normalize_log_output,
    normalize_severity,
    severity_level,
)

__all__ = [
    "API_KEY_FILE_LIMIT",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_OAUTH_SCOPES",
    "DEFAULT_OAUTH_TOKEN_URL",
    "DEFAULT_TELEPORT_ADDR",
    "PAGERDUTY_OPERATIONS",
    "AutoApprovalSettings",
    "Config",
    "ConfigError",
    "ConfigWarning",
    "DaemonSettings",
    "LogSettings",
    "MetricsSettings",
    "PagerDutySettings",
    "RequestAnnotations",
    "TeleportSettings",
    "config_from_document",
    "format_duration",
    "load_config",
    "normalize_log_output",
    "normalize_severity",
    "parse_config",
    "parse_duration",
    "read_config_document",
    "severity_level",
]
