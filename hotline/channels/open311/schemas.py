"""Reading a ``POST requests`` body (form-encoded per the specification, or JSON)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.channels.open311.catalog import REQUEST_TYPES
from hotline.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from hotline.web.bodies import describe

_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_\-]{1,64})\]$")
_PHONE = re.compile(r"^\+?[\d\s\-()]{7,20}$")
BODY_LIMIT = 64 * 1024


class ServiceRequestIn(BaseModel):
    """The fields of a new service request; a location is required in one of three forms."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    jurisdiction_id: str | None = Field(None, max_length=64)
    api_key: str | None = Field(None, max_length=256)
    service_code: str = Field(min_length=1, max_length=16)
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    address_string: str | None = Field(None, min_length=1, max_length=500)
    address_id: str | None = Field(None, min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=4000)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    first_name: str | None = Field(None, max_length=50)
    last_name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=32)
    device_id: str | None = Field(None, max_length=128)
    account_id: str | None = Field(None, max_length=128)
    media_url: str | None = Field(None, max_length=1000, pattern=r"^https?://\S+$")
    #: the client's own id for this submission; posting it again returns the same ticket
    request_id: str | None = Field(None, min_length=1, max_length=60)
    attribute: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ServiceRequestIn:
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat and long go together")
        if self.lat is None and not self.address_string and not self.address_id:
            raise ValueError("a location is required: lat and long, address_string or address_id")
        if self.phone and not _PHONE.match(self.phone):
            raise ValueError("phone: digits, spaces, dashes, brackets and a leading +")
        unknown = set(self.attribute) - {"request_type"}
        if unknown:
            raise ValueError(f"unknown attribute(s): {', '.join(sorted(unknown))}")
        kind = self.attribute.get("request_type")
        if kind is not None and kind not in REQUEST_TYPES:
            raise ValueError(f"attribute[request_type]: one of {', '.join(REQUEST_TYPES)}")
        return self

    @property
    def contact_name(self) -> str | None:
        # Chinese order: family name first.
        name = "".join(part for part in (self.last_name, self.first_name) if part)
        return name or None


async def read_body(request: web.Request) -> dict[str, Any]:
    """The raw fields of the body, before validation (so the key can be checked first)."""
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise PayloadTooLarge(f"a service request is limited to {BODY_LIMIT} bytes")
    try:
        if request.content_type == "application/x-www-form-urlencoded":
            return _from_form(await request.post())
        if request.content_type == "application/json":
            return _from_json(await request.read())
    except web.HTTPRequestEntityTooLarge as e:
        raise PayloadTooLarge(f"the body exceeds {request.client_max_size} bytes") from e
    raise UnsupportedMediaType("send application/x-www-form-urlencoded or application/json")


def validate(raw: dict[str, Any]) -> ServiceRequestIn:
    """The fields as :class:`ServiceRequestIn`; wrong input is :class:`BadRequest` (400)."""
    try:
        return ServiceRequestIn.model_validate(raw)
    except ValidationError as e:
        raise BadRequest(describe(e)) from e


def _from_form(form: MultiDictProxy[Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"attribute": {}}
    for key, value in form.items():
        if not isinstance(value, str):
            raise BadRequest(f"{key}: files are not accepted; send a media_url")
        if match := _ATTRIBUTE.match(key):
            data["attribute"][match.group(1)] = value
        elif key in data:
            raise BadRequest(f"{key}: given more than once")
        elif value != "":  # empty form fields mean "not given"
            data[key] = value
    return data


def _from_json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"malformed JSON body: {e}") from e
    if not isinstance(data, dict):
        raise BadRequest("the JSON body must be an object")
    return data
