"""docs/api.md and the running service's OpenAPI schema name the same routes and fields.

The rule is written at the top of docs/api.md: one row per route in its
"Reference" part, one row per object with every field. The schema comes from
a real server (`GET /openapi.json`), WebSocket rows are checked by opening
them. A failure prints the row to add or the field to remove.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support import ServerProcess

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
#: Error shapes, described once at the top of the document, not per route.
ERROR_OBJECTS = {"HTTPValidationError", "ValidationError"}
_TICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class RouteRow:
    method: str
    path: str
    query: frozenset[str]
    body: str  # "" none, "form" (fields in form_fields), or an object name
    form_fields: frozenset[str]
    status: str
    response: str  # object name, "[Name]", "object" or "text"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def reference_rows() -> Iterator[list[str]]:
    """The table rows of docs/api.md's "Reference" section (headers left out)."""
    text = DOC.read_text()
    start = text.index("\n## Reference")
    end = text.find("\n## ", start + 1)
    for line in text[start : end if end > 0 else None].splitlines():
        cells = _cells(line) if line.startswith("|") else []
        if cells and cells[0].startswith("`"):
            yield cells


def parse_doc() -> tuple[list[RouteRow], dict[str, set[str]]]:
    routes: list[RouteRow] = []
    objects: dict[str, set[str]] = {}
    for cells in reference_rows():
        first = _TICKED.findall(cells[0])[0]
        if " " in first:  # `METHOD /path`
            method, path = first.split(" ", 1)
            query, body, response = cells[1:4]
            status, _, shown = response.partition(" ")
            form = body.startswith("form")
            routes.append(
                RouteRow(
                    method=method,
                    path=path,
                    query=frozenset(_TICKED.findall(query)),
                    body="form" if form else "".join(_TICKED.findall(body)),
                    form_fields=frozenset(_TICKED.findall(body)) if form else frozenset(),
                    status=status,
                    response=shown.replace("`", "").strip(),
                )
            )
        else:
            assert first not in objects, f"object {first} has two rows"
            objects[first] = set(_TICKED.findall(cells[1]))
    return routes, objects


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Any]]:
    proc = ServerProcess(tmp_path_factory.mktemp("api-doc"))
    proc.start()
    schema = httpx.get(proc.url + "/openapi.json", timeout=10).json()
    yield proc, schema
    proc.stop()


def _ref_name(schema: dict[str, Any]) -> str | None:
    """The component a schema names: a $ref, or the one $ref of an optional (anyOf null)."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    refs = [s for s in schema.get("anyOf", []) if "$ref" in s]
    return _ref_name(refs[0]) if len(refs) == 1 else None


def _shown_response(schema: dict[str, Any] | None) -> str:
    """How the doc writes a response schema: Name, [Name], object or text."""
    if schema is None:
        return "text"
    if schema.get("type") == "array" and "items" in schema:
        inner = _ref_name(schema["items"])
        return f"[{inner}]" if inner else "object"
    return _ref_name(schema) or "object"


def _served_routes(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The route's own success answer: the first 2xx it lists (FastAPI lists the
    decorator's status first; a 200 for a repeated start comes after a 201)."""
    status = next(code for code in op["responses"] if code.startswith("2"))
    content = op["responses"][status].get("content", {})
    json_schema = content.get("application/json", {}).get("schema")
    return status, json_schema


def _row_for(method: str, path: str, op: dict[str, Any], schema: dict[str, Any]) -> str:
    """The reference row a served route should have (printed when it is missing)."""
    query = ", ".join(f"`{p['name']}`" for p in op.get("parameters", []) if p["in"] == "query")
    body = ""
    content = op.get("requestBody", {}).get("content", {})
    if "application/x-www-form-urlencoded" in content:
        name = _ref_name(content["application/x-www-form-urlencoded"]["schema"])
        props = schema["components"]["schemas"][name]["properties"] if name else {}
        body = "form " + ", ".join(f"`{f}`" for f in props)
    elif "application/json" in content:
        body = f"`{_ref_name(content['application/json']['schema'])}`"
    status, response = _success(op)
    shown = _shown_response(response)
    ticked = shown if shown in ("object", "text") else shown.replace("[", "[`").replace("]", "`]")
    ticked = ticked if ticked.startswith("[") else f"`{ticked}`"
    return f"| `{method} {path}` | {query} | {body} | {status} {ticked} |"


def test_every_served_route_has_a_row_and_every_row_is_served(
    served: tuple[ServerProcess, Any],
) -> None:
    _, schema = served
    routes, _ = parse_doc()
    documented = {(r.method, r.path) for r in routes if r.method != "WS"}
    served_routes = _served_routes(schema)
    missing = [
        _row_for(m, p, served_routes[(m, p)], schema)
        for (m, p) in served_routes
        if (m, p) not in documented
    ]
    assert not missing, "routes served but not in docs/api.md's Reference; add:\n" + "\n".join(
        missing
    )
    gone = sorted(f"{m} {p}" for (m, p) in documented if (m, p) not in served_routes)
    assert not gone, f"docs/api.md documents routes the service does not serve: {gone}"
    rows = [(r.method, r.path) for r in routes]
    assert len(rows) == len(set(rows)), "a route has two rows in docs/api.md"


def test_each_route_row_matches_its_parameters_body_and_response(
    served: tuple[ServerProcess, Any],
) -> None:
    _, schema = served
    routes, _ = parse_doc()
    served_routes = _served_routes(schema)
    problems = []
    for row in routes:
        if row.method == "WS":
            continue
        op = served_routes[(row.method, row.path)]
        expected = _row_for(row.method, row.path, op, schema)
        query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        path_params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert path_params == set(re.findall(r"{(\w+)}", row.path))
        content = op.get("requestBody", {}).get("content", {})
        if "application/x-www-form-urlencoded" in content:
            name = _ref_name(content["application/x-www-form-urlencoded"]["schema"])
            props = set(schema["components"]["schemas"][name]["properties"]) if name else set()
            body_ok = row.body == "form" and row.form_fields == props
        elif "application/json" in content:
            body_ok = row.body == _ref_name(content["application/json"]["schema"])
        else:
            body_ok = row.body == ""
        status, response = _success(op)
        if (
            row.query != query
            or not body_ok
            or row.status != status
            or row.response != _shown_response(response)
        ):
            problems.append(f"{row.method} {row.path}: the row should read\n  {expected}")
    assert not problems, "docs/api.md Reference rows out of step:\n" + "\n".join(problems)


def _referenced(schema: dict[str, Any], node: Any, seen: set[str]) -> None:
    """Every component reachable from `node`, nested ones included."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                _referenced(schema, schema["components"]["schemas"][name], seen)
        for value in node.values():
            _referenced(schema, value, seen)
    elif isinstance(node, list):
        for value in node:
            _referenced(schema, value, seen)


def test_every_object_and_field_is_documented_and_exists(
    served: tuple[ServerProcess, Any],
) -> None:
    _, schema = served
    _, objects = parse_doc()
    served_routes = _served_routes(schema)
    used: set[str] = set()
    for op in served_routes.values():
        for status, response in op["responses"].items():
            if status.startswith("2"):
                _referenced(schema, response, used)
        _referenced(schema, op.get("requestBody", {}), used)
    forms = {
        _ref_name(c["schema"])
        for op in served_routes.values()
        for kind, c in op.get("requestBody", {}).get("content", {}).items()
        if kind == "application/x-www-form-urlencoded"
    }
    used -= ERROR_OBJECTS | forms
    components = schema["components"]["schemas"]
    problems = [
        f"| `{name}` | {', '.join(f'`{f}`' for f in components[name].get('properties', {}))} |"
        for name in sorted(used - set(objects))
    ]
    assert not problems, "objects without a row in docs/api.md; add:\n" + "\n".join(problems)
    for name, fields in objects.items():
        assert name in used, f"docs/api.md documents {name}, which no route takes or returns"
        served_fields = set(components[name].get("properties", {}))
        assert fields == served_fields, (
            f"{name}: documented but not served {sorted(fields - served_fields)}; "
            f"served but not documented {sorted(served_fields - fields)}"
        )


async def test_websocket_rows_are_websocket_routes(served: tuple[ServerProcess, Any]) -> None:
    """A documented WS path completes the handshake; an unknown one is refused."""
    proc, _ = served
    routes, _ = parse_doc()
    ws_rows = [r.path for r in routes if r.method == "WS"]
    assert ws_rows, "docs/api.md has no WS row (the live stream)"
    base = proc.url.replace("http://", "ws://")
    for path in ws_rows:
        async with websockets.connect(base + path, open_timeout=5) as ws:
            assert ws.protocol is not None  # the handshake was accepted
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(base + "/api/v1/no-such-stream", open_timeout=5):
            pass


def test_parser_reads_the_shapes_the_rule_names() -> None:
    """The rule's forms are understood: form fields, lists, free-form and text."""
    routes, objects = parse_doc()
    by_route = {(r.method, r.path): r for r in routes}
    token = by_route[("POST", "/api/v1/auth/token")]
    assert token.body == "form" and token.form_fields == {"username", "password"}
    assert by_route[("GET", "/api/v1/sessions")].response == "[SessionOut]"
    assert by_route[("GET", "/metrics")].response == "text"
    assert by_route[("GET", "/healthz")].response == "object"
    assert "started_at" in objects["SessionOut"]
