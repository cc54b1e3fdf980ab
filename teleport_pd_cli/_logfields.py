"""Log lines with context: the stable `extra` field names, and loggers that carry fields.

Every module logs through `logging.getLogger(__name__)`; code working on one request binds its
fields once (`log = bind(logger, request_id=..., request_op="put")`) and every line it writes
carries them. `ops.logsetup` formats them (text or JSON).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

__all__ = ["FIELDS", "FieldsAdapter", "bind"]

#: The stable `extra` field names used across tpd and its libraries.
FIELDS = (
    "request_id",
    "request_op",
    "request_state",
    "pd_incident_id",
    "pd_service_name",
    "pd_service_names",
    "pd_user_email",
    "pd_user_name",
    "pd_user_id",
    "pd_escalation_policy_ids",
)


class FieldsAdapter(logging.LoggerAdapter[logging.Logger]):
    """A logger that adds its fields to every record; a call's own `extra` wins."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs

    def bind(self, **fields: object) -> FieldsAdapter:
        return FieldsAdapter(self.logger, {**(self.extra or {}), **fields})


def bind(logger: logging.Logger | FieldsAdapter, **fields: object) -> FieldsAdapter:
    """`logger` with `fields` added to every line: `bind(log, request_id=..., request_op="put")`."""
    if isinstance(logger, FieldsAdapter):
        return logger.bind(**fields)
    return FieldsAdapter(logger, dict(fields))
