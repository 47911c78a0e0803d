"""Logging filters named in settings.LOGGING."""

import logging


class RefusalWithoutTraceback(logging.Filter):
    """A refused request (a 4xx: 403, 404, a validation error, a suspicious host) is one log
    line: Django logs the exception of a PermissionDenied or a SuspiciousOperation with its
    traceback, which says nothing a status code and a path do not, and floods the logs of a
    scan. Tracebacks stay for 5xx and for everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
