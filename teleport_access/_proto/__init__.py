"""Generated protobuf and gRPC modules for Teleport's Auth Service API subset.

Do not edit: regenerate with `python scripts/gen_proto.py` from the sources in
`teleport_access/proto`. Only `teleport_access._convert`, the client and the fake server import
these modules; everything else uses the models in `teleport_access._models`.
"""
