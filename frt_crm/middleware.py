"""French first (the interface is in French unless the user chose English in the menu), and a
database that may be down (503 with Retry-After, not 500 after the pool's timeout)."""

import logging
import threading
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse


class FrenchFirstMiddleware:
    """Ignore the browser's Accept-Language header.

    The staff are French and many of their browsers (call-centre images, headless tools) are
    set to English; the language is what the user picked in the menu (the `django_language`
    cookie set by Django's `set_language` view), French otherwise. Placed before
    LocaleMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


# --- the database may be down ------------------------------------------------------------------

logger = logging.getLogger(__name__)

# What a client is told to wait before trying again (seconds).
RETRY_AFTER_SECONDS = 5
# While the database is known to be down, one request per this many seconds (per process)
# tries to reach it; the others are answered 503 at once.
PROBE_EVERY_SECONDS = 1.0
# Paths that answer for themselves when the database is down (the health check reports it).
_EXEMPT = ("/healthz", "/static/", "/favicon.ico")


def is_database_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now (down, restarting, connection
    cut, pool exhausted, SQLite locked), rather than a bug in a query."""
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg is a dependency
        PoolTimeout = ()  # noqa: N806
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if isinstance(exc, InterfaceError):
        return True  # "connection already closed" and the like
    cause = exc.__cause__
    if type(cause).__module__.startswith("psycopg"):
        if isinstance(cause, PoolTimeout):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        # No SQLSTATE: the client lost or never had its connection. 08: connection
        # exception; 53: insufficient resources (too many connections); 57P: the server is
        # shutting down, restarting or not yet accepting connections.
        return sqlstate is None or sqlstate[:2] in ("08", "53") or sqlstate[:3] == "57P"
    message = str(exc).lower()
    return any(word in message for word in ("locked", "unable to open", "disk i/o"))


class _Breaker:
    """Per process: is the database known to be down, and when was it last tried."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.last_probe = 0.0

    def trip(self) -> None:
        with self.lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                logger.warning("database unreachable: answering 503 until it is back")
            self.last_probe = time.monotonic()

    def still_down(self) -> bool:
        """Whether this request must be answered 503 without touching the database."""
        if self.down_since is None:
            return False
        with self.lock:
            if time.monotonic() - self.last_probe < PROBE_EVERY_SECONDS:
                return True
            self.last_probe = time.monotonic()
        if not database_reachable():
            return True
        with self.lock:
            if self.down_since is not None:
                logger.warning(
                    "database reachable again after %.1f s", time.monotonic() - self.down_since
                )
            self.down_since = None
        database_pool_reset()
        return False


breaker = _Breaker()


def database_reachable() -> bool:
    """One fresh connection to the database, outside the pool (bounded by the connect
    timeout): what the breaker and the health check ask."""
    if connection.vendor != "postgresql":
        try:
            connection.ensure_connection()
        except (OperationalError, InterfaceError):
            return False
        return True
    params = connection.get_connection_params()
    try:
        probe = connection.Database.connect(**params)
    except Exception:  # any failure to connect is the answer
        return False
    probe.close()
    return True


def database_pool_reset() -> None:
    """Drop the connection pool after an outage: its connections are dead and its own
    reconnection backs off for tens of seconds; a new pool connects at once."""
    if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("pool"):
        return
    try:
        connection.close()
    except Exception:  # the connection is dead; closing it only tidies up
        logger.debug("closing a dead connection failed", exc_info=True)
    try:
        connection.close_pool()
    except Exception:
        logger.warning("closing the connection pool failed", exc_info=True)


def outage_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON for the API and JSON clients, a French page for people.
    Touches no database (no session, no user, no context processor)."""
    if request.path.startswith("/healthz"):
        # A middleware that reads the session met the outage before the view: /healthz still
        # answers its own JSON (database down, broker as it is), which needs no session.
        from .views import healthz

        return healthz(request)
    from django.template.loader import render_to_string
    from django.utils.translation import gettext

    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        response: HttpResponse = JsonResponse(
            {
                "detail": gettext(
                    "The service is temporarily unavailable (database unreachable). "
                    "Please try again shortly."
                ),
                "code": "service_unavailable",
                "retry_after": RETRY_AFTER_SECONDS,
            },
            status=503,
        )
    else:
        response = HttpResponse(
            render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS}), status=503
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    """Database down: every page and API call answers 503 with Retry-After at once, not
    after the pool's timeout nor with a 500; normal service resumes as soon as one probe
    reaches the database again. First in MIDDLEWARE, so that nothing before it touches the
    database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_EXEMPT) and breaker.still_down():
            return outage_response(request)
        try:
            return self.get_response(request)
        except Exception as exc:  # only raised here by the test client's re-raise
            if is_database_outage(exc):
                return self._outage(request)
            raise

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_database_outage(exc):
            return None
        return self._outage(request)

    def _outage(self, request: HttpRequest) -> HttpResponse:
        if connection.vendor == "postgresql":
            if database_reachable():
                # A connection broke (cut by the server, a restart): the pool forgets its
                # connections; this request may be tried again at once.
                database_pool_reset()
            else:
                breaker.trip()
        return outage_response(request)


class TasksAfterResponseMiddleware:
    """With the embedded default (no broker), the tasks a request's commits ask for (triage,
    acknowledgements) run in-process once its response has been sent, not inside the request:
    the viewer's page does not wait for them. With a broker, nothing changes (workers take
    them). The response's closers run when the server has sent it (WSGI and ASGI alike)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .celery import tasks_after_response

        with tasks_after_response() as pending:
            response = self.get_response(request)
        if pending:
            response._resource_closers.append(lambda: _run_all(pending))
        return response


def _run_all(pending: list[Callable[[], None]]) -> None:
    for run in pending:
        run()  # enqueue_on_commit's sender: it logs a failure, never raises
