"""Request metrics in the Prometheus text exposition format (0.0.4), written by hand.

prometheus-client is not a dependency; the format is small. Labels are the route
*template* (``/v1/mypage/login``), never the raw path, so ids cannot multiply the series;
requests that match no route count under ``route="unmatched"``.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS_S", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# From a preview frame's quality check (~10 ms) to an argon2 login (~0.3 s) to a verify.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS_S, value)] += 1
        self.total += value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Metrics:
    """Counters and a latency histogram, shared by the middleware and ``/metrics``.

    Thread-safe: sync routes and the event loop both record.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._in_progress = 0
        self._events: dict[tuple[str, str], int] = defaultdict(int)
        self._gauges: dict[str, Callable[[], float]] = {}

    def started(self) -> None:
        """A request began."""
        with self._lock:
            self._in_progress += 1

    def finished(self, method: str, route: str, status: int, seconds: float) -> None:
        """A request ended with ``status`` after ``seconds``."""
        with self._lock:
            self._in_progress -= 1
            self._latency[(method, route)].observe(seconds)
            self._requests[(method, route, str(status))] += 1

    def event(self, name: str, route: str) -> None:
        """Count a named event on a route (``rate_limited``, ``server_busy``...)."""
        with self._lock:
            self._events[(name, route)] += 1

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """Expose ``read()`` as gauge ``ekyc_<name>`` at every scrape."""
        with self._lock:
            self._gauges[name] = read

    def render(self) -> str:
        """The exposition text."""
        with self._lock:
            lines = [
                *self._render_latency(),
                "# HELP ekyc_http_requests_total Requests by method, route and status.",
                "# TYPE ekyc_http_requests_total counter",
                *(
                    f"ekyc_http_requests_total{{{_labels(method=m, route=r, status=s)}}} {n}"
                    for (m, r, s), n in sorted(self._requests.items())
                ),
                "# HELP ekyc_http_requests_in_progress Requests being served.",
                "# TYPE ekyc_http_requests_in_progress gauge",
                f"ekyc_http_requests_in_progress {self._in_progress}",
                "# HELP ekyc_events_total Refusals and other events by route.",
                "# TYPE ekyc_events_total counter",
                *(
                    f"ekyc_events_total{{{_labels(event=e, route=r)}}} {n}"
                    for (e, r), n in sorted(self._events.items())
                ),
            ]
            gauges = sorted(self._gauges.items())
        for name, read in gauges:
            lines += [f"# TYPE ekyc_{name} gauge", f"ekyc_{name} {_number(read())}"]
        return "\n".join(lines) + "\n"

    def _render_latency(self) -> Iterable[str]:
        yield "# HELP ekyc_http_request_duration_seconds Request latency by method and route."
        yield "# TYPE ekyc_http_request_duration_seconds histogram"
        for (method, route), hist in sorted(self._latency.items()):
            cumulative = 0
            for bound, count in zip((*LATENCY_BUCKETS_S, None), hist.counts, strict=True):
                cumulative += count
                le = "+Inf" if bound is None else _number(bound)
                labels = _labels(method=method, route=route, le=le)
                yield f"ekyc_http_request_duration_seconds_bucket{{{labels}}} {cumulative}"
            labels = _labels(method=method, route=route)
            yield f"ekyc_http_request_duration_seconds_sum{{{labels}}} {_number(hist.total)}"
            yield f"ekyc_http_request_duration_seconds_count{{{labels}}} {cumulative}"
