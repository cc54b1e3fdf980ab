"""Regenerate teleport_access/_proto from the trimmed .proto sources in teleport_access/proto.

    python scripts/gen_proto.py            # rewrite teleport_access/_proto
    python scripts/gen_proto.py --check    # exit 1 if the committed modules are stale

Runs grpcio-tools' bundled protoc with --python_out, mypy-protobuf's --mypy_out (typed stubs that
pass `mypy --strict`) and, for the service file only, --grpc_python_out / --mypy_grpc_out.

The .proto files keep Teleport's own paths (teleport/legacy/types/types.proto, ...) so the
descriptor pool sees the same file names a Go client registers. protoc mirrors those paths as
nested top-level packages (`from teleport.legacy.types import types_pb2`); this script flattens
the output into one package and rewrites those imports as package-relative ones
(`from . import types_pb2`), so nothing named `teleport` is ever imported. The output is
deterministic: the same sources and tool versions give byte-identical files.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "teleport_access" / "proto"
OUT_DIR = ROOT / "teleport_access" / "_proto"
PACKAGE = "teleport_access._proto"
#: Files that define services; only these get gRPC modules.
SERVICE_FILES = (
    "teleport/accessmonitoringrules/v1/access_monitoring_rules_service.proto",
    "teleport/legacy/client/proto/authservice.proto",
    "teleport/users/v1/users_service.proto",
)

INIT_TEXT = '''"""Generated protobuf and gRPC modules for Teleport's Auth Service API subset.

Do not edit: regenerate with `python scripts/gen_proto.py` from the sources in
`teleport_access/proto`. Only `teleport_access._convert`, the client and the fake server import
these modules; everything else uses the models in `teleport_access._models`.
"""
'''

# `from teleport.legacy.types.wrappers import wrappers_pb2 as _wrappers_pb2`
_NESTED_IMPORT = re.compile(r"^from teleport(?:\.\w+)+ import (\w+_pb2(?:_grpc)?) as (\w+)$", re.M)
# The module name protoc bakes into BuildTopDescriptorsAndMessages(...) and error messages.
_NESTED_MODULE_NAME = re.compile(r"'teleport(?:\.\w+)*\.(\w+_pb2(?:_grpc)?)'")


class GenerationError(RuntimeError):
    """protoc or a plugin is missing or failed."""


def proto_sources() -> list[str]:
    """Every .proto under PROTO_ROOT, as protoc-relative paths, sorted for a stable command."""
    return sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PROTO_ROOT.rglob("*.proto"))


def _plugin(name: str) -> str:
    """Find a protoc plugin installed beside this interpreter (or on PATH)."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise GenerationError(f"{name} not found; install the dev extras (mypy-protobuf)")
    return found


def _run_protoc(args: list[str]) -> None:
    try:
        from grpc_tools import protoc  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GenerationError("grpcio-tools is not installed; install the dev extras") from exc
    include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto
    argv = ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{include}", *args]
    # protoc.main returns protoc's exit status; run it in a subprocess so a failure cannot take
    # the caller's interpreter (or its descriptor pool) with it.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from grpc_tools import protoc; sys.exit(protoc.main(sys.argv[1:]))",
            *argv,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise GenerationError(f"protoc failed ({result.returncode}):\n{result.stderr}")


def _flatten(text: str) -> str:
    text = _NESTED_IMPORT.sub(r"from . import \1 as \2", text)
    return _NESTED_MODULE_NAME.sub(rf"'{PACKAGE}.\1'", text)


def generate(out_dir: Path) -> list[Path]:
    """Write the generated package into out_dir (created if needed); return the files written."""
    sources = proto_sources()
    services = [s for s in sources if s in SERVICE_FILES]
    with tempfile.TemporaryDirectory(prefix="tpd-protoc-") as tmp:
        raw = Path(tmp)
        _run_protoc(
            [
                f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
                f"--python_out={raw}",
                f"--mypy_out={raw}",
                *sources,
            ]
        )
        _run_protoc(
            [
                f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
                f"--grpc_python_out={raw}",
                f"--mypy_grpc_out={raw}",
                *services,
            ]
        )
        generated = sorted(p for p in raw.rglob("*") if p.is_file())
        names = [p.name for p in generated]
        if len(set(names)) != len(names):
            raise GenerationError(f"two .proto files produce the same module name: {names}")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for path in generated:
            target = out_dir / path.name
            target.write_text(_flatten(path.read_text()))
            written.append(target)
    init = out_dir / "__init__.py"
    init.write_text(INIT_TEXT)
    written.append(init)
    leftovers = [p for p in written if re.search(r"^(from|import) teleport\b", p.read_text(), re.M)]
    if leftovers:
        raise GenerationError(f"unrewritten top-level imports remain in {leftovers}")
    return sorted(written)


def stale_files(committed: Path = OUT_DIR) -> list[str]:
    """Names of generated files that differ from (or are missing in) the committed package."""
    with tempfile.TemporaryDirectory(prefix="tpd-proto-check-") as tmp:
        fresh = Path(tmp)
        generate(fresh)
        fresh_names = {p.name for p in fresh.iterdir() if p.is_file()}
        committed_names = {
            p.name for p in committed.iterdir() if p.is_file() and p.suffix in (".py", ".pyi")
        }
        stale = sorted(fresh_names ^ committed_names)
        for name in sorted(fresh_names & committed_names):
            if not filecmp.cmp(fresh / name, committed / name, shallow=False):
                stale.append(name)
        return sorted(set(stale))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed files are stale"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files()
            if stale:
                print("stale generated modules: " + ", ".join(stale), file=sys.stderr)
                print("run: python scripts/gen_proto.py", file=sys.stderr)
                return 1
            print("generated modules are up to date")
            return 0
        for old in OUT_DIR.glob("*_pb2*.py*"):
            old.unlink()
        for path in generate(OUT_DIR):
            print(path.relative_to(ROOT))
        return 0
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
