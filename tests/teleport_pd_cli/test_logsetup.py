"""teleport_pd_cli.ops.logsetup: text and JSON lines with stable fields; secrets never printed."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from teleport_pd_cli.config import ConfigError
from teleport_pd_cli.ops.logsetup import REDACTED, TRACE, bind, setup_logging

SECRET = "u+Xa7sFkq9PZ3vYdG2hN"  # the shape of a PagerDuty API key
PEM = (
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oXUAM1G6OSm/oAoGCCqGSM49\n"
    "-----END EC PRIVATE KEY-----"
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, value in chatty.items():
        logging.getLogger(name).setLevel(value)


def capture(
    fmt: str = "text", severity: str = "info", secrets: tuple[str, ...] = ()
) -> io.StringIO:
    stream = io.StringIO()
    setup_logging("stderr", severity, fmt, secrets=secrets, stream=stream)
    return stream


LOG = logging.getLogger("teleport_pd_cli.daemon")


def test_a_text_line_has_time_level_logger_message_and_sorted_fields() -> None:
    stream = capture()
    LOG.info(
        "Successfully created PagerDuty incident",
        extra={
            "request_state": "PENDING",
            "request_id": "3f2a",
            "pd_service_name": "Teleport Notifications",
            "pd_incident_id": "P1",
            "request_op": "put",
        },
    )
    line = stream.getvalue()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  \[teleport_pd_cli\.daemon\] "
        r"Successfully created PagerDuty incident pd_incident_id=P1 "
        r'pd_service_name="Teleport Notifications" request_id=3f2a request_op=put '
        r"request_state=PENDING\n",
        line,
    ), line


def test_a_json_line_carries_the_same_fields_under_stable_names() -> None:
    stream = capture("json")
    LOG.warning("Failed to find any service", extra={"pd_service_names": ["A", "B"]})
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "teleport_pd_cli.daemon"
    assert entry["msg"] == "Failed to find any service"
    assert entry["pd_service_names"] == ["A", "B"]
    assert entry["time"].endswith("Z")


def test_every_record_is_exactly_one_line() -> None:
    stream = capture()
    LOG.info("note:\nline two")
    assert stream.getvalue().count("\n") == 1
    assert "note:\\nline two" in stream.getvalue()


def test_list_fields_are_comma_joined_in_text() -> None:
    stream = capture()
    LOG.info("x", extra={"pd_escalation_policy_ids": ("EP1", "EP2")})
    assert "pd_escalation_policy_ids=EP1,EP2" in stream.getvalue()


def test_fields_that_are_none_are_left_out() -> None:
    stream = capture("json")
    LOG.info("x", extra={"pd_incident_id": None, "request_id": "r"})
    entry = json.loads(stream.getvalue())
    assert "pd_incident_id" not in entry
    assert entry["request_id"] == "r"


def test_bound_fields_appear_on_every_line_and_a_calls_own_extra_wins() -> None:
    stream = capture("json")
    log = bind(LOG, request_id="r1", request_op="put")
    log.info("one")
    bind(log, pd_incident_id="P1").info("two", extra={"request_op": "delete"})
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["request_id"], first["request_op"]) == ("r1", "put")
    assert (second["request_id"], second["request_op"], second["pd_incident_id"]) == (
        "r1",
        "delete",
        "P1",
    )


def test_records_below_the_severity_are_dropped() -> None:
    stream = capture(severity="warn")
    LOG.info("hidden")
    LOG.warning("shown")
    assert "hidden" not in stream.getvalue()
    assert "shown" in stream.getvalue()


def test_trace_severity_shows_trace_records_named_trace() -> None:
    stream = capture(severity="TRACE")
    LOG.log(TRACE, "wire bytes")
    assert " TRACE [teleport_pd_cli.daemon] wire bytes" in stream.getvalue()


def test_chatty_http_libraries_are_quiet_at_debug() -> None:
    stream = capture(severity="debug")
    logging.getLogger("httpcore.http11").debug("send_request_headers.started")
    logging.getLogger("teleport_pd_cli").debug("ours")
    assert "send_request_headers" not in stream.getvalue()
    assert "ours" in stream.getvalue()


def test_setting_up_again_replaces_the_previous_handler() -> None:
    first = capture()
    second = capture()
    LOG.info("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


# -- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_configured_secret_is_redacted_from_messages_arguments_and_fields(fmt: str) -> None:
    stream = capture(fmt, secrets=(SECRET,))
    LOG.info("key is %s", SECRET, extra={"pd_user_email": f"x{SECRET}y", "list": [SECRET]})
    LOG.info(f"inline {SECRET}")
    output = stream.getvalue()
    assert SECRET not in output
    assert output.count(REDACTED) == 4


def test_a_secret_inside_an_exception_traceback_is_redacted() -> None:
    stream = capture("json", secrets=(SECRET,))
    try:
        raise RuntimeError(f"bad header Authorization: Token token={SECRET}")
    except RuntimeError:
        LOG.exception("request failed")
    output = stream.getvalue()
    assert SECRET not in output
    assert "RuntimeError: bad header" in json.loads(output)["traceback"]


def test_a_pagerduty_token_header_is_redacted_even_when_not_configured() -> None:
    stream = capture()
    LOG.debug("x")
    LOG.warning("headers: {'Authorization': 'Token token=abcdef123456'}")
    assert "abcdef123456" not in stream.getvalue()
    assert f"Token token={REDACTED}" in stream.getvalue()


def test_a_private_key_is_redacted_even_when_not_configured() -> None:
    stream = capture()
    LOG.error("loaded %s from file", PEM)
    assert "MHcCAQEE" not in stream.getvalue()
    assert f"loaded {REDACTED} from file" in stream.getvalue()


def test_a_truncated_private_key_is_redacted_to_the_end() -> None:
    stream = capture()
    LOG.error("partial: %s", PEM[:80])
    assert "MHcCAQEE" not in stream.getvalue()


def test_very_short_secrets_are_not_searched_for() -> None:
    stream = capture(secrets=("key",))
    LOG.info("the monkey")
    assert "the monkey" in stream.getvalue()


# -- outputs ------------------------------------------------------------------------------------


def test_a_file_output_is_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "pagerduty.log"
    path.write_text("earlier line\n")
    handler = setup_logging(str(path), "info", "text")
    LOG.info("new line")
    handler.flush()
    assert path.read_text().splitlines()[0] == "earlier line"
    assert "new line" in path.read_text()


def test_a_rotated_log_file_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "pagerduty.log"
    handler = setup_logging(str(path), "info", "text")
    LOG.info("before rotation")
    path.rename(tmp_path / "pagerduty.log.1")
    LOG.info("after rotation")
    handler.flush()
    assert "after rotation" in path.read_text()
    assert "before rotation" in (tmp_path / "pagerduty.log.1").read_text()


def test_an_unopenable_log_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "x.log"
    with pytest.raises(ConfigError, match=r"\[log\] output: cannot open the log file .*x\.log"):
        setup_logging(str(target))


@pytest.mark.parametrize("alias", ["stdout", "out", "1"])
def test_stdout_aliases_write_to_stdout(alias: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(alias, "info", "text")
    LOG.info("to stdout")
    assert "to stdout" in capsys.readouterr().out


def test_an_unknown_format_or_severity_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported log format"):
        setup_logging("stderr", "info", "xml")
    with pytest.raises(ValueError, match="unsupported logger severity"):
        setup_logging("stderr", "loud", "text")
