"""Test doubles for code built on `teleport_access`: a fake Auth Service and a test PKI.

* `FakeAuthServer`: a real gRPC Auth Service with mutual TLS on 127.0.0.1 that applies
  Teleport's access-request and plugin-data rules, with fault switches and call recording.
  Runs in-process (`async with FakeAuthServer() as fake`) or as its own process
  (`python -m teleport_access.testing --help`). See docs/testing-fake-auth.md.
* `TestCertificateAuthority`: host and user CAs that issue identity files and server certs.
* `FakeProxy`: a Teleport Proxy's TLS-routing port in front of an Auth Service address, with
  the connection upgrade and an L7-load-balancer mode. See docs/connecting.md.
"""

from teleport_access.testing._fake_auth import METHODS, FakeAuthServer, RecordedCall
from teleport_access.testing._fake_proxy import FakeProxy, ObservedConnection
from teleport_access.testing._pki import TestCertificateAuthority

__all__ = [
    "METHODS",
    "FakeAuthServer",
    "FakeProxy",
    "ObservedConnection",
    "RecordedCall",
    "TestCertificateAuthority",
]
