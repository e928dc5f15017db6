"""The services (subcategories) the city exposes through Open311, and their definitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hotline.classifier.taxonomy import Subcategory, Taxonomy
from hotline.errors import ConfigError, NotFound

DEFAULT_SERVICES_FILE = Path(__file__).parent / "data" / "services.yml"
_KEYS = {"exclude_categories", "exclude_subcategories"}

#: the one attribute every service takes: what kind of request it is (诉求类型)
REQUEST_TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
REQUEST_TYPE_ATTRIBUTE: dict[str, Any] = {
    "variable": True,
    "code": "request_type",
    "datatype": "singlevaluelist",
    "required": False,
    "datatype_description": "选择一项；不选视为“其他”",
    "order": 1,
    "description": "诉求类型",
    "values": [{"key": value, "name": value} for value in REQUEST_TYPES],
}


@dataclass(frozen=True)
class Service:
    """One exposed subcategory and the category it belongs to."""

    subcategory: Subcategory
    group: str

    @property
    def code(self) -> str:
        return self.subcategory.code


class ServiceCatalog:
    """Exposed services in taxonomy order, looked up by code."""

    def __init__(self, services: list[Service], excluded: set[str]) -> None:
        self.services = tuple(services)
        self._by_code = {service.code: service for service in services}
        self._excluded = excluded

    def get(self, code: str) -> Service:
        """The exposed service ``code``, or :class:`NotFound` naming why it is not offered."""
        service = self._by_code.get(code)
        if service is not None:
            return service
        if code in self._excluded:
            raise NotFound(f"service_code {code} is not offered through Open311; call 12345")
        raise NotFound(f"service_code {code} does not exist")

    def __contains__(self, code: object) -> bool:
        return code in self._by_code


def load_catalog(taxonomy: Taxonomy, path: Path | None = None) -> ServiceCatalog:
    """Every subcategory except those ``path`` excludes; unknown codes are a config error."""
    source = path or DEFAULT_SERVICES_FILE
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"channels.open311.services_file: cannot read {source}: {e}") from e
    if not isinstance(document, dict) or set(document) - _KEYS:
        raise ConfigError(f"{source}: a mapping with only the keys {sorted(_KEYS)}")
    categories = _codes(document, "exclude_categories", source)
    subcategories = _codes(document, "exclude_subcategories", source)
    for code in categories:
        _known(taxonomy.category, code, source)
    for code in subcategories:
        _known(taxonomy.subcategory, code, source)
    services, excluded = [], set(subcategories)
    for category in taxonomy.categories:
        for sub in taxonomy.children(category.code):
            if category.code in categories or sub.code in subcategories:
                excluded.add(sub.code)
            else:
                services.append(Service(subcategory=sub, group=category.name))
    return ServiceCatalog(services, excluded)


def _codes(document: dict[str, Any], key: str, source: Path) -> list[str]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {key} must be a list of quoted codes")
    return value


def _known(lookup: Callable[[str], object], code: str, source: Path) -> None:
    try:
        lookup(code)
    except NotFound as e:
        raise ConfigError(f"{source}: {e.message}") from e
