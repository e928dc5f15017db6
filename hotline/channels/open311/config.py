"""The ``channels.open311`` configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Open311Config(BaseModel):
    """Open311 GeoReport v2; off unless enabled, and POST needs a key from ``hotline open311``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    #: the one jurisdiction served; a request naming another one gets 404
    jurisdiction_id: str = ""
    #: public URL of ``/open311/v2`` for discovery; empty means built from the request's host
    base_url: str = Field("", pattern=r"^(https?://[^\s]+)?$")
    #: which subcategories are exposed; empty means the packaged ``data/services.yml``
    services_file: str = ""
    #: list tickets from every channel in ``GET requests``, not only those posted via Open311
    publish_all_channels: bool = False
    #: when the service list or this API last changed (discovery's ``changeset``)
    changeset: str = "2026-11-22T00:00:00+08:00"
    contact: str = "12345 政务服务便民热线"
    key_service: str = "向 12345 热线管理中心申请 API key"
    #: how far back ``GET requests`` looks without ``start_date``, and the longest span allowed
    window_days: int = Field(90, ge=1, le=366)
    max_results: int = Field(1000, ge=1, le=1000)
