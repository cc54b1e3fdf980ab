"""A fake PagerDuty for tests: a supported product, faithful to the REST API v2.

    from pagerduty_client.testing import FakePagerDuty

    fake = FakePagerDuty()
    ...
    async with fake.client(user_email="bot@example.com") as pd:   # in-process transport
        ...
    async with fake.serve() as url:                                # real HTTP on 127.0.0.1
        ...

See `FakePagerDuty` and docs/pagerduty-client.md.
"""

from pagerduty_client.testing._app import Faults, RecordedRequest, Violation
from pagerduty_client.testing._clock import FakeClock
from pagerduty_client.testing._fake import FakePagerDuty, NewNote
from pagerduty_client.testing._openapi import ERRATA, OpenAPIDocument

__all__ = [
    "ERRATA",
    "FakeClock",
    "FakePagerDuty",
    "Faults",
    "NewNote",
    "OpenAPIDocument",
    "RecordedRequest",
    "Violation",
]
