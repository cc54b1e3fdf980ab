"""The committed generated protobuf modules match the .proto sources and import cleanly."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from tests._scripts import load_script


def _gen_proto_module() -> ModuleType:
    return load_script("gen_proto")


def test_committed_generated_modules_are_not_stale() -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (dev extra) is needed to regenerate")
    gen = _gen_proto_module()
    stale = gen.stale_files()
    assert stale == [], f"run `python scripts/gen_proto.py`; stale: {stale}"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (dev extra) is needed to regenerate")
    gen = _gen_proto_module()
    first = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "b")}
    assert first == second


@pytest.mark.parametrize(
    "module", ["wrappers_pb2", "types_pb2", "event_pb2", "authservice_pb2", "authservice_pb2_grpc"]
)
def test_generated_module_imports_with_package_relative_imports(module: str) -> None:
    imported = importlib.import_module(f"teleport_access._proto.{module}")
    source = Path(imported.__file__ or "").read_text()
    assert "from teleport." not in source
    assert "import teleport." not in source


def test_service_keeps_teleports_full_name() -> None:
    from teleport_access._proto import authservice_pb2

    service = authservice_pb2.DESCRIPTOR.services_by_name["AuthService"]
    assert service.full_name == "proto.AuthService"
    assert sorted(m.name for m in service.methods) == sorted(
        [
            "Ping",
            "WatchEvents",
            "GetAccessRequestsV2",
            "ListAccessRequests",
            "CreateAccessRequestV2",
            "DeleteAccessRequest",
            "SetAccessRequestState",
            "SubmitAccessReview",
            "GetPluginData",
            "UpdatePluginData",
            "GetUser",
            "GetRole",
        ]
    )
