"""A per-process cache of triage configuration read on every decision (the live policy's id,
teams, SLA policies), so that a burst of triage tasks does not re-read them ten thousand times.

Entries expire after TRIAGE_CONFIG_CACHE_SECONDS: a manager's change reaches every worker
within that delay (publishing a policy also clears the publishing process's cache at once).
Configuration only: never tickets or anything a user is waiting to see change.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
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


class RecentIds:
    """The last ``size`` ticket ids this process triaged in batches: their own messages then
    end without a query. A hint, not a record (a ticket never goes back to `new`; a miss only
    costs the query it would have saved)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ids: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, ticket_id: int) -> bool:
        return ticket_id in self.ids

    def update(self, ticket_ids: Iterable[int]) -> None:
        with _lock:
            for ticket_id in ticket_ids:
                self.ids[ticket_id] = None
            while len(self.ids) > self.size:
                self.ids.popitem(last=False)

    def clear(self) -> None:
        with _lock:
            self.ids.clear()


recently_triaged = RecentIds(20000)


def clear() -> None:
    with _lock:
        _values.clear()
    recently_triaged.clear()
