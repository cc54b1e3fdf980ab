"""Checks requests and answers against PagerDuty's OpenAPI document (`pagerduty-openapi.json`).

The fake PagerDuty runs every request through `OpenAPIDocument.check_request` (the operation
exists; required headers are present; query parameter names, types and enum values are declared;
the JSON body validates against the operation's schema) and every answer it gives through
`check_response`, so a client that drifts from the document, or a fake that drifts from
PagerDuty, fails its tests.

The document is OpenAPI 3.0, whose schemas are almost JSON Schema draft 4. `_adapt` closes the
gap once, at load time: `nullable: true` becomes "or null", and `ERRATA` corrects the few places
where the schema contradicts the document's own examples and descriptions (each entry says why).
`DEFECTS` lists where the document asks for more than PagerDuty does, so that a request PagerDuty
answers is not reported: `Content-Type` is marked required on every operation, GETs included,
and the notes listing does not declare the classic pagination parameters.
`$ref`s (including JSON pointers deep into other schemas) resolve inside the loaded document.

The document is found by `discover()`: the path given to the fake, else `$PAGERDUTY_OPENAPI`,
else `shared/pagerduty-openapi.json` in the working directory, the package directory or any of
their parents. When it is absent, checks are skipped, never failed. jsonschema (the `test` extra)
is imported lazily; without it body schemas are not checked but everything else is.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

__all__ = ["DEFECTS", "ENV_VAR", "ERRATA", "OpenAPIDocument", "discover", "load"]

log = logging.getLogger("pagerduty_client.testing")

#: Environment variable naming the OpenAPI document; empty, "0" or "off" disables validation.
ENV_VAR = "PAGERDUTY_OPENAPI"
DOCUMENT_NAME = "pagerduty-openapi.json"
_URI = "urn:pagerduty-openapi"
_JSON = dict[str, Any]


def discover(start: Iterable[Path] | None = None) -> Path | None:
    """Where the OpenAPI document is, or None. `$PAGERDUTY_OPENAPI` wins when set."""
    env = os.environ.get(ENV_VAR)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "false", "no"):
            return None
        path = Path(env).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"${ENV_VAR} names {path}, which is not a file")
        return path
    bases = list(start) if start is not None else [Path.cwd(), Path(__file__).resolve().parent]
    for base in bases:
        for directory in (base, *base.parents):
            candidate = directory / "shared" / DOCUMENT_NAME
            if candidate.is_file():
                return candidate
    return None


# --- adapting OpenAPI 3.0 schemas to JSON Schema draft 4 --------------------------------------


def _nullable(schema: _JSON) -> _JSON:
    rest = {k: v for k, v in schema.items() if k != "nullable"}
    return {"anyOf": [{"type": "null"}, rest]}


@attrs.frozen
class Erratum:
    """A correction to the document: at `pointer`, apply `fix`; `reason` cites the evidence."""

    pointer: str
    fix: Callable[[_JSON], _JSON]
    reason: str


ERRATA: tuple[Erratum, ...] = (
    Erratum(
        "/components/schemas/IncidentBody/properties/details",
        lambda s: {**s, "type": ["object", "string"]},
        "typed object, but the createIncident request example sends a string and PagerDuty's "
        "Incident Creation API documentation says details are a string",
    ),
    Erratum(
        "/components/schemas/Oncall/properties/start",
        _nullable,
        'its description: "If `null`, the on-call is a permanent user on-call"',
    ),
    Erratum(
        "/components/schemas/Oncall/properties/end",
        _nullable,
        'its description: "If `null`, the user does not go off-call"',
    ),
    Erratum(
        "/components/schemas/Oncall/properties/schedule",
        _nullable,
        "on-calls from rules targeting a user directly have no schedule (listOnCalls' "
        "schedule_ids[] description: `null` selects those permanent on-calls)",
    ),
    Erratum(
        "/components/schemas/Incident/allOf/1/properties/resolved_at",
        _nullable,
        'its description: "... or `null` if the incident is not resolved"',
    ),
    Erratum(
        "/components/schemas/Incident/allOf/1/properties/last_status_change_by",
        _nullable,
        "null until someone changes the status (e.g. an incident created by an integration)",
    ),
)


#: Where the document asks more of a request than PagerDuty does: none of these is a finding.
#: (what, why) pairs, for the docs; the checks below apply them.
DEFECTS: tuple[tuple[str, str], ...] = (
    (
        "Content-Type is required only when a request has a body",
        "the document marks it required on every operation, GETs included; PagerDuty answers "
        "GETs without it (PagerDuty's own Python library sends none)",
    ),
    (
        "GET /incidents/{id}/notes takes limit, offset and total",
        "classic pagination parameters every listing takes, which the document leaves "
        "undeclared there; PagerDuty accepts them (its library's iter_all sends them)",
    ),
)
#: The parameters `DEFECTS` adds, per (method, template): (name, schema).
_UNDECLARED_PARAMETERS: Mapping[tuple[str, str], tuple[tuple[str, Mapping[str, Any]], ...]] = {
    ("GET", "/incidents/{id}/notes"): (
        ("limit", {"type": "integer"}),
        ("offset", {"type": "integer"}),
        ("total", {"type": "boolean"}),
    ),
}


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def _lookup(document: Any, pointer: str) -> Any:
    node = document
    for part in _pointer_parts(pointer):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _replace(document: Any, pointer: str, fix: Callable[[_JSON], _JSON]) -> None:
    *parents, last = _pointer_parts(pointer)
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = fix(node[last])


def _adapt(node: Any) -> Any:
    """`nullable: true` -> "or null", everywhere. Only the keyword is ever the boolean True (a
    property *named* nullable would map to a schema object), so no schema position is mistaken."""
    if isinstance(node, list):
        return [_adapt(item) for item in node]
    if isinstance(node, dict):
        adapted = {key: _adapt(value) for key, value in node.items()}
        return _nullable(adapted) if adapted.get("nullable") is True else adapted
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


# --- operations ------------------------------------------------------------------------------


@attrs.frozen
class Parameter:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]


@attrs.frozen
class Operation:
    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    literal_segments: int
    parameters: tuple[Parameter, ...]
    body_pointer: str | None
    body_required: bool
    #: status ("200", "default") -> JSON pointer of the answer's schema (None: no body).
    responses: Mapping[str, str | None]


class OpenAPIDocument:
    """A loaded, adapted OpenAPI document that checks requests and answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            raw = json.load(handle)
        for erratum in ERRATA:
            _replace(raw, erratum.pointer, erratum.fix)
        self.document: _JSON = _adapt(raw)
        self.operations = self._index()
        self._validators: dict[str, Any] = {}
        self._registry: Any = None
        self._jsonschema_missing = False

    # indexing ------------------------------------------------------------------------------

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node = _lookup(self.document, node["$ref"].split("#", 1)[1])
        return node

    def _follow(self, pointer: str, node: Any) -> tuple[str, Any]:
        """Follow `$ref`s from `node` (found at `pointer`): the final pointer and object."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"].split("#", 1)[1]
            node = _lookup(self.document, pointer)
        return pointer, node

    def _json_schema_pointer(self, pointer: str, node: Any) -> str | None:
        """The pointer of the `application/json` schema of a request body or response."""
        pointer, node = self._follow(pointer, node)
        content = node.get("content", {}) if isinstance(node, dict) else {}
        if "application/json" not in content:
            return None
        return f"{pointer}/content/{_escape('application/json')}/schema"

    def _index(self) -> list[Operation]:
        operations = []
        for template, item in self.document.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method not in ("get", "put", "post", "delete", "patch"):
                    continue
                base = f"/paths/{_escape(template)}/{method}"
                params = [self._resolve(p) for p in [*shared, *op.get("parameters", [])]]
                body_pointer = None
                body = self._resolve(op.get("requestBody"))
                if "requestBody" in op:
                    body_pointer = self._json_schema_pointer(
                        f"{base}/requestBody", op["requestBody"]
                    )
                responses = {
                    status: self._json_schema_pointer(
                        f"{base}/responses/{_escape(status)}", response
                    )
                    for status, response in op.get("responses", {}).items()
                }
                undeclared = _UNDECLARED_PARAMETERS.get((method.upper(), template), ())
                params += [
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    for name, schema in undeclared
                ]
                segments = template.strip("/").split("/")
                regex = (
                    "^/"
                    + "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
                    + "$"
                )
                operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op.get("operationId", ""),
                        pattern=re.compile(regex),
                        literal_segments=sum(not s.startswith("{") for s in segments),
                        parameters=tuple(
                            Parameter(
                                name=p["name"],
                                location=p["in"],
                                required=bool(p.get("required")),
                                schema=self._resolve(p.get("schema", {})),
                            )
                            for p in params
                            if isinstance(p, dict) and "name" in p
                        ),
                        body_pointer=body_pointer,
                        body_required=bool(isinstance(body, dict) and body.get("required")),
                        responses=responses,
                    )
                )
        # The most literal template wins (`/users/me` before `/users/{id}`).
        operations.sort(key=lambda o: -o.literal_segments)
        return operations

    def find(self, method: str, path: str) -> Operation | None:
        method = method.upper()
        for operation in self.operations:
            if operation.method == method and operation.pattern.match(path):
                return operation
        return None

    # schema validation --------------------------------------------------------------------

    def _validator(self, pointer: str) -> Any:
        validator = self._validators.get(pointer)
        if validator is None:
            # Imported here: jsonschema is a test extra, and ships no type information.
            jsonschema = importlib.import_module("jsonschema")
            from referencing import Registry
            from referencing.jsonschema import DRAFT4

            if self._registry is None:
                resource = DRAFT4.create_resource(self.document)
                self._registry = Registry().with_resource(_URI, resource)
            fragment = quote(pointer, safe="/~")
            validator = jsonschema.Draft4Validator(
                {"$ref": f"{_URI}#{fragment}"}, registry=self._registry
            )
            self._validators[pointer] = validator
        return validator

    def validate(self, pointer: str, instance: Any, what: str) -> list[str]:
        """Problems with `instance` against the schema at `pointer` (empty: valid)."""
        if self._jsonschema_missing:
            return []
        try:
            validator = self._validator(pointer)
        except ImportError:
            self._jsonschema_missing = True
            log.warning("jsonschema is not installed: OpenAPI body schemas are not checked")
            return []
        best_match = importlib.import_module("jsonschema.exceptions").best_match
        problems = []
        for error in validator.iter_errors(instance):
            detail = best_match([error]) or error
            problems.append(f"{what} {detail.json_path}: {detail.message}")
            if len(problems) == 5:
                break
        return problems

    # requests -----------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[str]:
        """Every way the request departs from the document (empty: it conforms)."""
        operation = self.find(method, path)
        if operation is None:
            return [f"{method} {path}: no such operation in the OpenAPI document"]
        where = f"{operation.method} {operation.template} ({operation.operation_id})"
        problems = [f"{where}: {p}" for p in self._check_headers(operation, headers, bool(body))]
        problems += [f"{where}: {p}" for p in self._check_query(operation, query)]
        problems += [f"{where}: {p}" for p in self._check_body(operation, body)]
        return problems

    def _check_headers(
        self, operation: Operation, headers: Mapping[str, str], has_body: bool
    ) -> list[str]:
        problems = []
        lowered = {k.lower(): v for k, v in headers.items()}
        for param in operation.parameters:
            if param.location != "header":
                continue
            value = lowered.get(param.name.lower())
            if value is None:
                # DEFECTS: a request without a body needs no Content-Type.
                body_header = param.name.lower() == "content-type"
                if param.required and (has_body or not body_header):
                    problems.append(f"required header {param.name} is missing")
                continue
            enum = param.schema.get("enum")
            if enum and value.split(";")[0].strip() not in enum:
                problems.append(f"header {param.name}: {value!r} is not one of {enum}")
            if param.schema.get("format") == "email" and "@" not in value:
                problems.append(f"header {param.name}: {value!r} is not an email address")
        return problems

    def _check_query(self, operation: Operation, query: Sequence[tuple[str, str]]) -> list[str]:
        declared = {p.name: p for p in operation.parameters if p.location == "query"}
        values: dict[str, list[str]] = {}
        for name, value in query:
            values.setdefault(name, []).append(value)
        problems = []
        for name, given in values.items():
            param = declared.get(name)
            if param is None:
                problems.append(
                    f"query parameter {name!r} is not declared (declared: {sorted(declared)})"
                )
                continue
            schema = param.schema
            is_array = schema.get("type") == "array"
            if is_array:
                schema = self._resolve(schema.get("items", {}))
            elif len(given) > 1 and not name.endswith("[]"):
                problems.append(f"query parameter {name!r} is repeated")
            for value in given:
                problem = _check_scalar(value, schema)
                if problem:
                    problems.append(f"query parameter {name}={value!r}: {problem}")
        for name, param in declared.items():
            if param.required and name not in values:
                problems.append(f"required query parameter {name!r} is missing")
        return problems

    def _check_body(self, operation: Operation, body: bytes) -> list[str]:
        if operation.body_pointer is None:
            return ["the operation takes no request body, but one was sent"] if body else []
        if not body:
            return ["the request body is required"] if operation.body_required else []
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"the request body is not JSON: {exc}"]
        return self.validate(operation.body_pointer, instance, "request body")

    # answers ------------------------------------------------------------------------------

    def check_response(self, method: str, path: str, status: int, body: bytes) -> list[str]:
        operation = self.find(method, path)
        if operation is None:
            return []
        where = f"{operation.method} {operation.template} -> {status}"
        key = str(status)
        if key in operation.responses:
            pointer = operation.responses[key]
        elif "default" in operation.responses:
            pointer = operation.responses["default"]
        elif status >= 400:
            # Any operation may fail in PagerDuty's generic error shape (401, 429, 5xx, ...).
            generic = "/components/responses/Conflict"
            pointer = self._json_schema_pointer(generic, _lookup(self.document, generic))
        else:
            documented = sorted(operation.responses)
            return [f"{where}: status {status} is not documented (documented: {documented})"]
        if pointer is None:
            return [f"{where}: the document defines no body, but one was sent"] if body else []
        try:
            instance = json.loads(body) if body else None
        except ValueError as exc:
            return [f"{where}: the answer is not JSON: {exc}"]
        return [f"{where}: {p}" for p in self.validate(pointer, instance, "answer")]


def _check_scalar(value: str, schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    converted: Any = value
    if kind == "integer":
        try:
            converted = int(value)
        except ValueError:
            return "not an integer"
    elif kind == "number":
        try:
            converted = float(value)
        except ValueError:
            return "not a number"
    elif kind == "boolean":
        if value not in ("true", "false"):
            return 'not a boolean ("true" or "false")'
        converted = value == "true"
    enum = schema.get("enum")
    if enum is not None and converted not in enum:
        return f"not one of {enum}"
    return None


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> OpenAPIDocument:
    return OpenAPIDocument(Path(path))


def load(path: Path) -> OpenAPIDocument:
    """Load (once per file version, cached for the process) and adapt the document."""
    resolved = path.resolve()
    return _load_cached(str(resolved), resolved.stat().st_mtime)
