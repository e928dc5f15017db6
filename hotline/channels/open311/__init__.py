"""Open311 GeoReport v2 under ``/open311/``: discovery, services, service requests, API keys."""
