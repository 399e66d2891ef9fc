"""The OpenAPI document: every shape a 4xx ``detail`` takes here, declared."""
from __future__ import annotations

from fastapi import FastAPI

ERROR_DETAIL_SCHEMA = {
    "anyOf": [
        {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"},
         "description": "request validation errors, one per field"},
        {"type": "string", "description": "what is wrong and how to fix it"},
        {"type": "object", "description": "a rejected upload: code, message and every problem found",
         "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                        "problems": {"type": "array", "items": {"type": "object"}}},
         "required": ["code", "message"]},
    ],
    "title": "Detail",
}


def document_error_shapes(app: FastAPI) -> None:
    """Declare in /openapi.json every shape a 4xx ``detail`` takes here, not only FastAPI's field errors."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            validation_error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
            if validation_error is not None:
                validation_error["properties"]["detail"] = ERROR_DETAIL_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
