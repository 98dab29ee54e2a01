"""API keys and tenants: the ``--auth`` TOML file, and checking a request's Bearer key.

The file is the Rust wasmrun's, with two optional tables per tenant::

    [[tenants]]
    id = "ci"
    key_sha256 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
    [tenants.limits]          # Limits fields; each at most the server's (they only lower them)
    timeout_s = 10
    [tenants.rate]
    max_requests_per_min = 120
    burst = 20                # default: max_requests_per_min
    max_concurrent_exec = 2   # this tenant's execs at once (default: the server's cap only)

Keys are never stored, only their SHA-256 (``wasmrun agent --hash-key KEY`` prints it). A
presented key is hashed and compared with every tenant's hash in constant time, so neither the
match nor its position leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmrun.agent.models import Limits
from wasmrun.errors import ConfigError

#: The one tenant of a server started without ``--auth``.
LOCAL_TENANT = "local"

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_TENANT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_RATE_KEYS = {"max_requests_per_min", "burst", "max_concurrent_exec"}


def hash_key(key: str) -> str:
    """The SHA-256 hex of an API key: the ``key_sha256`` to put in the auth file."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TenantRate:
    max_requests_per_min: float | None = None  # None: not limited
    burst: float | None = None
    max_concurrent_exec: int | None = None


@dataclass(frozen=True)
class Tenant:
    id: str
    key_sha256: str
    limits: Limits  # the ceiling (and default) of this tenant's sessions
    limits_given: dict[str, Any]  # what the file said, for create_session
    rate: TenantRate


@dataclass(frozen=True)
class AuthConfig:
    tenants: tuple[Tenant, ...]

    def resolve(self, authorization: str | None) -> Tenant | None:
        """The tenant whose key an ``Authorization: Bearer KEY`` header carries, else None."""
        if not authorization:
            return None
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        presented = hash_key(key.strip()).encode()
        found: Tenant | None = None
        for tenant in self.tenants:  # no early exit: the time does not say which one matched
            if hmac.compare_digest(presented, tenant.key_sha256.encode()):
                found = tenant
        return found

    def tenant(self, tenant_id: str) -> Tenant | None:
        return next((t for t in self.tenants if t.id == tenant_id), None)


def load_auth(path: Path, ceiling: Limits) -> AuthConfig:
    """Read and check an auth file; any problem is a :class:`ConfigError` (one line, exit 2)
    naming the file and the entry, so a server never starts open when auth was asked for."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"auth file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"auth file {path} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read auth file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"auth file {path} is not valid TOML: {exc}") from None
    return parse_auth(data, ceiling, where=str(path))


def parse_auth(data: dict[str, Any], ceiling: Limits, *, where: str = "auth file") -> AuthConfig:
    unknown = set(data) - {"tenants"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (only [[tenants]] tables)")
    raw = data.get("tenants")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where} has no [[tenants]] entries")
    tenants: list[Tenant] = []
    for number, entry in enumerate(raw, 1):
        tenants.append(_tenant(entry, ceiling, f"{where}: tenant {number}"))
    ids = [t.id for t in tenants]
    hashes = [t.key_sha256 for t in tenants]
    for seen, what in ((ids, "tenant id"), (hashes, "key_sha256")):
        duplicate = next((x for i, x in enumerate(seen) if x in seen[:i]), None)
        if duplicate is not None:
            raise ConfigError(f"{where} has a duplicate {what} ('{duplicate[:16]}')")
    return AuthConfig(tuple(tenants))


def _tenant(entry: object, ceiling: Limits, where: str) -> Tenant:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} is not a table")
    unknown = set(entry) - {"id", "key_sha256", "limits", "rate"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")  # repr: one line, whatever the key
    tenant_id, key = entry.get("id"), entry.get("key_sha256")
    if not isinstance(tenant_id, str) or not _TENANT_ID.fullmatch(tenant_id):
        raise ConfigError(f"{where}: 'id' must be 1 to 64 letters, digits, '_', '.' or '-'")
    where = f"{where} ('{tenant_id}')"
    if not isinstance(key, str) or not _SHA256_HEX.fullmatch(key.strip().lower()):
        raise ConfigError(f"{where}: 'key_sha256' must be 64 hex digits (wasmrun agent --hash-key KEY prints it)")
    limits_given = entry.get("limits", {})
    if not isinstance(limits_given, dict):
        raise ConfigError(f"{where}: [tenants.limits] must be a table")
    from pydantic import ValidationError

    from wasmrun.agent.errors import BadRequest

    try:
        limits = ceiling.within(ceiling, limits_given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: limits.{field}: {first['msg']}") from None
    except BadRequest as exc:
        raise ConfigError(f"{where}: {exc.message}") from None
    return Tenant(id=tenant_id, key_sha256=key.strip().lower(), limits=limits, limits_given=dict(limits_given),
                  rate=_rate(entry.get("rate", {}), where))


def _rate(raw: object, where: str) -> TenantRate:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [tenants.rate] must be a table")
    unknown = set(raw) - _RATE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {'rate.' + sorted(unknown)[0]!r} "
                          f"(known: {', '.join(sorted(_RATE_KEYS))})")
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{where}: rate.{name} must be a number above 0")
        if name == "max_concurrent_exec" and not isinstance(value, int):
            raise ConfigError(f"{where}: rate.max_concurrent_exec must be a whole number")
    per_min = raw.get("max_requests_per_min")
    burst = raw.get("burst")
    if burst is not None and per_min is None:
        raise ConfigError(f"{where}: rate.burst needs rate.max_requests_per_min")
    return TenantRate(max_requests_per_min=None if per_min is None else float(per_min),
                      burst=None if per_min is None else float(burst if burst is not None else per_min),
                      max_concurrent_exec=raw.get("max_concurrent_exec"))
