# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Waiting for a local health endpoint (e.g. a static pod's /healthz) to answer 200."""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.error
import urllib.request

ATTEMPT_TIMEOUT = 5.0


class WaitTimeout(Exception):
    """The endpoint did not answer 200 in time; `last_error` says what it did instead."""

    def __init__(self, url: str, timeout: float, last_error: str) -> None:
        super().__init__(f"{url} did not answer 200 within {timeout:g} s; last error: {last_error}")
        self.last_error = last_error


def ssl_context(
    validate_certs: bool,
    ca_path: str | None = None,
    client_cert_path: str | None = None,
    client_key_path: str | None = None,
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_path)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert_path:
        context.load_cert_chain(client_cert_path, client_key_path)
    return context


def wait_for_ok(url: str, timeout: float, context: ssl.SSLContext, interval: float = 1.0) -> float:
    """Polls `url` until it answers 200; returns the seconds waited or raises WaitTimeout."""
    # No proxies: the endpoints are local to the machine, and a proxy from the environment would lie.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    start = time.monotonic()
    while True:
        remaining = timeout - (time.monotonic() - start)
        last_error = _attempt(opener, url, max(0.1, min(ATTEMPT_TIMEOUT, remaining)))
        elapsed = time.monotonic() - start
        if not last_error:
            return elapsed
        if elapsed + interval > timeout:
            raise WaitTimeout(url, timeout, last_error)
        time.sleep(interval)


def _attempt(opener: urllib.request.OpenerDirector, url: str, timeout: float) -> str:
    """ "" when `url` answered 200, else what went wrong."""
    try:
        with opener.open(url, timeout=timeout) as response:
            response.read()
            return "" if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        error.close()
        return f"HTTP {error.code} {error.reason}"
    except urllib.error.URLError as error:
        return str(error.reason)
    except (OSError, http.client.HTTPException) as error:
        return str(error) or type(error).__name__
