"""A per-process cache of triage configuration read on every decision (the live policy's id,
teams, SLA policies), so that a burst of triage tasks does not re-read them ten thousand times.

Entries expire after TRIAGE_CONFIG_CACHE_SECONDS: a manager's change reaches every worker
within that delay (publishing a policy also clears the publishing process's cache at once).
Configuration only: never tickets or anything a user is waiting to see change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")
_lock = threading.Lock()
_values: dict[str, tuple[float, Any]] = {}


def cached(key: str, load: Callable[[], T]) -> T:
    """``load()``'s value, reused for TRIAGE_CONFIG_CACHE_SECONDS."""
    now = time.monotonic()
    hit = _values.get(key)
    if hit is not None and now - hit[0] < settings.TRIAGE_CONFIG_CACHE_SECONDS:
        return hit[1]
    value = load()
    with _lock:
        _values[key] = (now, value)
    return value


def clear() -> None:
    with _lock:
        _values.clear()
