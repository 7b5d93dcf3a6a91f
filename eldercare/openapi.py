"""The OpenAPI 3 document, built from the `endpoint` declarations of every view under
/api/v1, so that what is published is what runs."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _schema(model: Any, components: dict[str, Any]) -> dict:
    """A model's JSON Schema among the components; a list or other type inline."""
    ref = "#/components/schemas/{model}"
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(ref_template=ref)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}
    schema = TypeAdapter(model).json_schema(ref_template=ref)
    components.update(schema.pop("$defs", {}))
    return schema


def build(app: Flask) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        meta = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        if meta is None:
            continue
        path = _CONVERTER.sub(r"{\2}", rule.rule)
        params = _parameters(rule.rule, meta)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = _operation(meta, f"{rule.endpoint}_{method.lower()}", params, components)
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",  # pydantic writes JSON Schema 2020-12, as 3.1 expects
        "info": {"title": "eldercare API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _parameters(rule: str, meta: dict) -> list[dict]:
    """The path's parameters, then the declared query's."""
    params = []
    for conv, name in _CONVERTER.findall(rule):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer"} if conv == "int" else {"type": "string"},
            }
        )
    if meta["query"] is not None:
        qs = meta["query"].model_json_schema()
        for name, prop in qs.get("properties", {}).items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in qs.get("required", []),
                    "schema": prop,
                }
            )
    return params


def _operation(meta: dict, operation_id: str, params: list[dict], components: dict) -> dict:
    """One method of a path: who may call it, what it takes, what it answers."""
    op: dict[str, Any] = {
        "summary": meta["summary"],
        "operationId": operation_id,
        "parameters": params,
        "responses": {},
    }
    if meta["roles"]:
        op["description"] = "Roles: " + ", ".join(meta["roles"])
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    body = _request_body(meta, components)
    if body is not None:
        op["requestBody"] = body
    ok: dict[str, Any] = {"description": "OK"}
    if meta["response"] is not None:
        ok["content"] = {"application/json": {"schema": _schema(meta["response"], components)}}
    op["responses"][str(meta["status"])] = ok
    for code, model in meta.get("responses", {}).items():
        op["responses"][str(code)] = {
            "description": "See the contract",
            "content": {"application/json": {"schema": _schema(model, components)}},
        }
    err = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code in ("400", "401", "403", "404", "409", "413", "422", "429"):
        op["responses"].setdefault(code, err)
    return op


def _request_body(meta: dict, components: dict) -> dict | None:
    """A JSON body's schema, or a multipart upload's fields."""
    if meta["body"] is not None:
        return {
            "required": True,
            "content": {"application/json": {"schema": _schema(meta["body"], components)}},
        }
    if not meta["multipart"]:
        return None
    fields = meta["multipart"]
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        k: {"type": "string", "format": "binary"}
                        if v == "file"
                        else {"type": "string"}
                        for k, v in fields.items()
                    },
                    "required": [k for k in fields if k == "file"],
                }
            }
        },
    }
