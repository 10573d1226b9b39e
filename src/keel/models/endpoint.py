"""Where a served model lives and which key it gets: the URL and key checks that run before any
connection, light enough for option defaults and config validation (no SDK, no asyncio)."""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from keel.errors import ConfigError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
KEY_ENV = re.compile(r"[A-Z][A-Z0-9_]*_API_KEY")
"""The names of the environment variables keel reads a key from: upper case, ending in _API_KEY."""


def origin(url: str) -> tuple[str, str, int]:
    """A URL's origin (RFC 6454): its scheme, host and port, the port defaulted by the scheme."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{url!r} has an invalid port: {exc}") from exc
    return parts.scheme, parts.hostname or "", port or (443 if parts.scheme == "https" else 80)


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_key(base_url: str, key_env: str, *, allow_insecure: bool = False) -> str | None:
    """The API key to send to `base_url`: the value of `$key_env` (None when unset or empty).

    A ConfigError, before any connection, when the URL is not http(s), when `key_env` does not
    match `KEY_ENV` (so no other secret of the environment can be named and sent), or when a
    key would cross the network in clear text: http:// to a host other than loopback, unless
    `allow_insecure`."""
    scheme, host, _ = origin(base_url)
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"base URL {base_url!r} must start with http:// or https:// "
            "(e.g. http://localhost:8000/v1)"
        )
    if not KEY_ENV.fullmatch(key_env):
        raise ConfigError(
            f"keel reads an API key only from a variable whose name ends in _API_KEY (such as "
            f"{DEFAULT_KEY_ENV} or KEEL_API_KEY), not {key_env!r}: put the server's key in one "
            "and name it with --api-key-env (api_key_env in a loop file)"
        )
    key = os.environ.get(key_env) or None
    if key is not None and scheme == "http" and not is_loopback(host) and not allow_insecure:
        raise ConfigError(
            f"${key_env} is set and {base_url} is plain http:// to {host}, not this machine: the "
            "key would cross the network in clear text. Use https://, unset the variable if the "
            "server needs no key, or pass --allow-insecure (allow_insecure = true in a loop "
            "file) if you trust every network in between"
        )
    return key
