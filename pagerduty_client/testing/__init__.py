"""A fake PagerDuty for tests: a supported product, faithful to the REST API v2.

    from pagerduty_client.testing import FakePagerDuty

    fake = FakePagerDuty()
    ...
    async with fake.client(user_email="bot@example.com") as pd:   # in-process transport
        ...
    async with fake.serve() as url:                                # real HTTP on 127.0.0.1
        ...
    with fake.serve_in_thread(tls=True) as url:                    # HTTPS; trust fake.ca_file
        ...

It also serves the Scoped OAuth token endpoint (`add_oauth_client`, `oauth_provider`).

See `FakePagerDuty` and docs/pagerduty-client.md.
"""

from pagerduty_client.testing._app import Faults, RecordedRequest, Violation
from pagerduty_client.testing._clock import FakeClock
from pagerduty_client.testing._fake import FakePagerDuty, NewNote
from pagerduty_client.testing._identity import OAuthApp
from pagerduty_client.testing._openapi import DEFECTS, ERRATA, OpenAPIDocument

__all__ = [
    "DEFECTS",
    "ERRATA",
    "FakeClock",
    "FakePagerDuty",
    "Faults",
    "NewNote",
    "OAuthApp",
    "OpenAPIDocument",
    "RecordedRequest",
    "Violation",
]
