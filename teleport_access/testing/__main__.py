"""Run the fake Auth Service as its own process.

    python -m teleport_access.testing --identity-dir ./ids --user access-plugin \\
        --admin tester --seed seed.json

It listens on 127.0.0.1 (a free port unless `--port`), writes an identity file
`<identity-dir>/<user>` (mode 0600) for every `--user` / `--admin` (and, with `--tls-files`, the
three TLS files in `<identity-dir>/<user>.tls/`), prints ONE JSON line to stdout:

    {"address": "127.0.0.1:41234", "cluster_name": "...", "pid": 123,
     "identities": {"access-plugin": "ids/access-plugin", ...}}

and serves until SIGTERM or SIGINT, then stops cleanly and exits 0. Logs go to stderr.

Another process drives it over gRPC with an `--admin` identity (admins may create requests for
any user, review as anyone, approve, deny and delete). `--seed` loads roles and users from a
JSON file shaped like the models:

    {"roles": [{"name": "requester",
                "allow": {"request": {"roles": ["admin"],
                                      "annotations": {"pagerduty_notify_service": ["Ops"]},
                                      "thresholds": [{"approve": 1, "deny": 1}]}}}],
     "users": [{"name": "alice@example.com", "roles": ["requester"], "traits": {}}]}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from teleport_access._models import (
    AccessReviewThreshold,
    ClaimMapping,
    RequestConditions,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing._fake_auth import FakeAuthServer

logger = logging.getLogger("teleport_access.testing")


class SeedError(ValueError):
    """The --seed file is not valid; the message names the file and the entry."""


def _claims(raw: Sequence[Mapping[str, Any]]) -> tuple[ClaimMapping, ...]:
    return tuple(
        ClaimMapping(claim=c.get("claim", ""), value=c.get("value", ""), roles=c.get("roles", ()))
        for c in raw
    )


def _conditions(raw: Mapping[str, Any]) -> RoleConditions:
    request = review = None
    if "request" in raw:
        r = raw["request"]
        request = RequestConditions(
            roles=r.get("roles", ()),
            claims_to_roles=_claims(r.get("claims_to_roles", ())),
            annotations=r.get("annotations", {}),
            thresholds=tuple(AccessReviewThreshold(**t) for t in r.get("thresholds", ())),
            suggested_reviewers=r.get("suggested_reviewers", ()),
            search_as_roles=r.get("search_as_roles", ()),
        )
    if "review_requests" in raw:
        v = raw["review_requests"]
        review = ReviewConditions(
            roles=v.get("roles", ()),
            claims_to_roles=_claims(v.get("claims_to_roles", ())),
            where=v.get("where", ""),
            preview_as_roles=v.get("preview_as_roles", ()),
        )
    return RoleConditions(request=request, review_requests=review)


def load_seed(path: Path) -> tuple[list[Role], list[User]]:
    """Roles and users from a seed file (see the module docstring)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    roles, users = [], []
    for index, raw in enumerate(data.get("roles", ())):
        try:
            roles.append(
                Role(
                    name=raw["name"],
                    version=raw.get("version", "v7"),
                    allow=_conditions(raw.get("allow", {})),
                    deny=_conditions(raw.get("deny", {})),
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SeedError(f"{path}: roles[{index}] is not a valid role: {exc!r}") from exc
    for index, raw in enumerate(data.get("users", ())):
        try:
            users.append(
                User(name=raw["name"], roles=raw.get("roles", ()), traits=raw.get("traits", {}))
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SeedError(f"{path}: users[{index}] is not a valid user: {exc!r}") from exc
    return roles, users


def _user_spec(spec: str) -> tuple[str, list[str]]:
    name, _, roles = spec.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME or NAME:ROLE,ROLE, got {spec!r}")
    return name, [r for r in roles.split(",") if r]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m teleport_access.testing",
        description="Run a fake Teleport Auth Service (gRPC, mutual TLS) on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--cluster-name", default="teleport.example.com")
    parser.add_argument("--server-version", default="17.4.2")
    parser.add_argument("--identity-dir", type=Path, help="where identity files are written")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        type=_user_spec,
        metavar="NAME[:ROLES]",
        help="issue an identity file for this user (repeatable)",
    )
    parser.add_argument(
        "--admin",
        action="append",
        default=[],
        type=_user_spec,
        metavar="NAME[:ROLES]",
        help="issue an identity for an admin user (repeatable)",
    )
    parser.add_argument("--tls-files", action="store_true", help="also write the 3 TLS files")
    parser.add_argument("--seed", type=Path, help="JSON file with roles and users to store")
    parser.add_argument("--verbose", action="store_true")
    return parser


async def serve(args: argparse.Namespace) -> int:
    fake = FakeAuthServer(
        cluster_name=args.cluster_name,
        host=args.host,
        port=args.port,
        server_version=args.server_version,
    )
    if args.seed is not None:
        roles, users = load_seed(args.seed)
        for role in roles:
            fake.add_role(role)
        for user in users:
            fake.add_user(user)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await fake.start()
    try:
        identities: dict[str, str] = {}
        for (name, roles), admin in [(u, False) for u in args.user] + [
            (a, True) for a in args.admin
        ]:
            path = fake.write_identity_file(
                args.identity_dir / name, name, roles=roles, admin=admin
            )
            identities[name] = os.fspath(path)
            if args.tls_files:
                directory = args.identity_dir / f"{name}.tls"
                directory.mkdir(parents=True, exist_ok=True)
                fake.write_tls_files(directory, name, roles=roles, admin=admin)
        ready = {
            "address": fake.address,
            "cluster_name": fake.cluster_name,
            "pid": os.getpid(),
            "identities": identities,
        }
        print(json.dumps(ready), flush=True)
        logger.info("Fake Auth Service serving on %s", fake.address)
        await stop.wait()
        logger.info("Stopping the fake Auth Service")
    finally:
        await fake.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.user or args.admin) and args.identity_dir is None:
        parser.error("--user/--admin need --identity-dir")
    if args.identity_dir is not None:
        args.identity_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(serve(args))
    except (SeedError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
