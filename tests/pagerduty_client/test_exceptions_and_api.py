"""The exception tree and the package's public names."""

from __future__ import annotations

import pytest

import pagerduty_client as pd
import pagerduty_client.testing as pd_testing


@pytest.mark.parametrize(
    "cls",
    [
        pd.InvalidRequest,
        pd.Unauthorized,
        pd.PaymentRequired,
        pd.Forbidden,
        pd.NotFound,
        pd.RequestTimeout,
        pd.Conflict,
        pd.RateLimited,
        pd.ServerError,
    ],
)
def test_every_status_error_is_an_api_error(cls: type[pd.APIError]) -> None:
    assert issubclass(cls, pd.APIError)
    assert issubclass(cls, pd.PagerDutyError)


def test_transport_failures_are_apart_from_api_errors() -> None:
    assert issubclass(pd.TransportTimeout, pd.TransportError)
    assert not issubclass(pd.TransportError, pd.APIError)
    assert issubclass(pd.TransportError, pd.PagerDutyError)


def test_configuration_errors_are_also_value_errors() -> None:
    assert issubclass(pd.ConfigurationError, ValueError)
    assert issubclass(pd.ConfigurationError, pd.PagerDutyError)


def test_pagination_and_format_errors_derive_from_the_base() -> None:
    assert issubclass(pd.PaginationLimitError, pd.PagerDutyError)
    assert issubclass(pd.UnexpectedResponse, pd.PagerDutyError)


def test_oauth_refusals_are_api_errors_with_one_class_per_rfc_6749_code() -> None:
    for cls in (
        pd.InvalidClient,
        pd.InvalidScope,
        pd.InvalidGrant,
        pd.UnauthorizedClient,
        pd.UnsupportedGrantType,
        pd.InvalidTokenRequest,
    ):
        assert issubclass(cls, pd.OAuthError)
    assert issubclass(pd.OAuthError, pd.APIError)


def test_an_error_prints_its_message() -> None:
    error = pd.NotFound("GET /users/{id}: HTTP 404", status=404)
    assert str(error) == "GET /users/{id}: HTTP 404"
    assert error.attempts == 0


def test_the_client_package_exports_exactly_its_public_api() -> None:
    assert set(pd.__all__) == {
        "APIError", "Assignment", "AsyncPagerDutyClient", "CallAttempt", "CallObserver",
        "CallRetry", "ConfigurationError", "Conflict",
        "DEFAULT_BASE_URL", "EU_BASE_URL", "EscalationPolicy", "EscalationRule", "Forbidden",
        "Incident", "InvalidRequest", "NotFound", "NotOnCallReason", "Note", "OnCall",
        "OnCallCheck", "OnCallMatch", "PagerDutyClient", "PagerDutyError",
        "PaginationLimitError", "PaymentRequired", "RateLimited", "Reference", "RequestTimeout",
        "RetryPolicy", "ServerError", "Service", "TransportError", "TransportTimeout",
        "USER_AGENT", "Unauthorized", "UnexpectedResponse", "User", "__version__",
        # Scoped OAuth
        "AccessToken", "AsyncOAuthTokenProvider", "CLIENT_OPERATIONS", "CLIENT_SCOPES",
        "DEFAULT_TOKEN_URL", "InvalidClient", "InvalidGrant", "InvalidScope",
        "InvalidTokenRequest", "OAuthError", "OAuthTokenProvider", "UnauthorizedClient",
        "UnsupportedGrantType", "account_scope", "is_operation_limited", "required_scope",
        "required_scopes",
    }  # fmt: skip


def test_the_testing_package_exports_exactly_its_public_api() -> None:
    assert pd_testing.__all__ == sorted(pd_testing.__all__)
    assert set(pd_testing.__all__) == {
        "DEFECTS", "ERRATA", "FakeClock", "FakePagerDuty", "Faults", "NewNote", "OAuthApp",
        "OpenAPIDocument",
        "RecordedRequest", "Violation",
    }  # fmt: skip
    for name in pd_testing.__all__:
        assert hasattr(pd_testing, name)


def test_importing_the_client_loads_neither_the_fake_nor_jsonschema() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pagerduty_client\n"
        "loaded = [m for m in sys.modules if m.startswith(('pagerduty_client.testing', "
        "'jsonschema'))]\n"
        "print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


PURE_MODULES = ["_exceptions", "_models", "_pacing", "_plans", "_requests", "_retry", "_wire"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_never_import_httpx(module: str) -> None:
    import ast
    from pathlib import Path

    source = Path(pd.__file__).with_name(f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "httpx" not in imported
    assert not imported & {"teleport_access", "teleport_pd_cli"}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (pd.ServerError("x", status=502), True),
        (pd.APIError("x", status=500), True),
        (pd.RateLimited("x", status=429), False),
        (pd.RequestTimeout("x", status=408), False),
        (pd.Forbidden("x", status=403), False),
        (pd.TransportError("x"), True),
        (pd.TransportError("x", maybe_processed=False), False),
        (pd.ConfigurationError("x"), False),
    ],
)
def test_maybe_processed_is_true_only_without_an_answer_or_after_a_5xx(
    error: pd.PagerDutyError, expected: bool
) -> None:
    assert error.maybe_processed is expected
