"""Licensor client library for Python.

Holds a verified, fresh license for one contract: refreshes it at the
license's refresh_after (jittered), retries with jittered exponential
back-off that honours the server's retry hint, caches it (and starts from
the cache with no wait), verifies every license offline against the
tenant's JWKS (pinned or fetched), fires expiring-soon and expired events
once per change, and checks floating capabilities out and in.

Standard library for HTTP (the Connect protocol, JSON over HTTPS) and
cryptography for Ed25519.
"""

from .capability import Lease
from .client import Client
from .license import EXPIRED, EXPIRING_SOON, UNLICENSED, VALID, License, Status
from .errors import DeniedError, LicensorError
from .jws import dearmor, parse_jwks, verify_license

__all__ = ["Client", "License", "Status", "Lease", "LicensorError", "DeniedError",
           "parse_jwks", "verify_license", "dearmor",
           "UNLICENSED", "VALID", "EXPIRING_SOON", "EXPIRED"]
