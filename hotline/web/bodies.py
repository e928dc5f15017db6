"""Reading and validating JSON request bodies into pydantic models."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hotline.errors import BadRequest, PayloadTooLarge, ValidationFailed

M = TypeVar("M", bound=BaseModel)


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse the body as ``model``: 400 for malformed JSON, 422 for wrong fields, 413 if too big."""
    limit = request.client_max_size
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body of {request.content_length} bytes exceeds {limit}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as e:
        raise PayloadTooLarge(
            f"request body exceeds the limit of {request.client_max_size} bytes"
        ) from e
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"malformed JSON body: {e}", code="malformed_json") from e
    except RecursionError as e:  # [[[[… a few thousand deep fits in any body limit
        raise BadRequest("malformed JSON body: nested too deeply", code="malformed_json") from e
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ValidationFailed(describe(e)) from e


def describe(error: ValidationError) -> str:
    """``field: problem; other: problem`` from a pydantic error."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise ValidationFailed(f"{name}: must be an integer") from e
    if not low <= value <= high:
        raise ValidationFailed(f"{name}: must be between {low} and {high}")
    return value


def query_flag(request: web.Request, name: str) -> bool:
    """``?name=true`` / ``false`` (also 1 / 0); absent is false."""
    raw = request.query.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationFailed(f"{name}: must be true or false")


async def read_limited(request: web.Request, limit: int, what: str) -> bytes:
    """The raw body, at most ``limit`` bytes (413 naming ``what`` otherwise, declared or not)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"{what} of {request.content_length} bytes exceeds {limit}")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"{what} over {limit} bytes")
    return body
