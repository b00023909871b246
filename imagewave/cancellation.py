"""Stopping a service's work when nobody waits for it any more.

A caller (the gateway's service clients) states how long it will wait in the
`X-Imagewave-Timeout-S` header; the service app gives each request a `CancelToken` that trips
when that time is up or when the caller disconnects (its timeout, a canceled job whose worker
was stopped). Long loops in the engines call `check_canceled()`, which raises `WorkCanceled`
once the token tripped, so a render nobody will read stops within a fraction of a second
instead of running to its end while a retry runs beside it.

The token travels in a context variable: `run_in_threadpool` copies the context into the
worker thread, so engines need no extra argument. Outside a request there is no token and
`check_canceled()` does nothing.
"""

from __future__ import annotations

import contextvars
import threading
import time

from imagewave.errors import ImagewaveError

TIMEOUT_HEADER = "X-Imagewave-Timeout-S"


class WorkCanceled(ImagewaveError):
    """The caller gave up (its deadline passed or it went away): the work was stopped."""

    status_code = 503
    code = "work_canceled"


class CancelToken:
    def __init__(self, timeout_s: float | None = None) -> None:
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.timeout_s = timeout_s
        self._canceled = threading.Event()
        self.reason = ""

    def cancel(self, reason: str) -> None:
        if not self._canceled.is_set():
            self.reason = reason
            self._canceled.set()

    @property
    def canceled(self) -> bool:
        if not self._canceled.is_set() and self.deadline is not None \
                and time.monotonic() > self.deadline:
            self.cancel(f"the caller's deadline of {self.timeout_s:g} s passed")
        return self._canceled.is_set()

    def check(self) -> None:
        if self.canceled:
            raise WorkCanceled(f"work stopped: {self.reason}")


current_token: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar(
    "imagewave_cancel_token", default=None)


def check_canceled() -> None:
    """Raise `WorkCanceled` if the request this work serves was given up; else nothing."""
    token = current_token.get()
    if token is not None:
        token.check()


def parse_timeout(value: str | None) -> float | None:
    try:
        timeout_s = float(value) if value else None
    except ValueError:
        return None
    return timeout_s if timeout_s and 0 < timeout_s < 7 * 24 * 3600 else None
