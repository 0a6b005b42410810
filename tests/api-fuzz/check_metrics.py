"""Reads a gateway's /metrics with the Prometheus project's own Python client (its strict
OpenMetrics parser) and checks that the families an operator relies on are there.

usage: check_metrics.py BASE_URL
"""

import sys
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families

EXPECTED = {
    "citizen_http_requests": "counter",
    "citizen_http_request_duration_seconds": "histogram",
    "citizen_database_errors": "counter",
    "citizen_database_up": "gauge",
    "citizen_feed_head": "gauge",
    "citizen_uploads_incomplete": "gauge",
    "citizen_reports_open": "gauge",
    "citizen_live_clients": "gauge",
    "citizen_db_pool_connections": "gauge",
    "citizen_db_pool_max_connections": "gauge",
    "citizen_backend_info": "gauge",
}


def main() -> int:
    base = sys.argv[1].rstrip("/")
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as res:
        content_type = res.headers["content-type"]
        text = res.read().decode("utf-8")
    if not content_type.startswith("application/openmetrics-text"):
        print(f"/metrics: content type {content_type!r}", file=sys.stderr)
        return 1
    families = {f.name: f for f in text_string_to_metric_families(text)}
    problems = []
    for name, kind in EXPECTED.items():
        family = families.get(name)
        if family is None:
            problems.append(f"missing {name}")
        elif family.type != kind:
            problems.append(f"{name} is a {family.type}, not a {kind}")
    requests = families.get("citizen_http_requests")
    if requests is not None and not any(s.value > 0 for s in requests.samples):
        problems.append("no request was counted")
    for p in problems:
        print(f"/metrics: {p}", file=sys.stderr)
    print(f"/metrics: {len(families)} families parsed, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
