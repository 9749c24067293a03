"""Floating capabilities: check units of counted features out of the
customer's pool as a lease, renew it, and check them back in."""

import secrets

from . import cache, jws
from .errors import DeniedError, LicensorError

CAPABILITY_ATTEMPTS = 10


class Lease:
    """Units held by this instance until expires_at (seconds since the epoch),
    with the signed capability token that lists them."""

    def __init__(self, lease, token=None, claims=None):
        self.id = lease.get("id", "")
        self.pool_id = lease.get("poolId", "")
        self.units = {u["feature"]: int(u.get("units", 0)) for u in lease.get("units", [])}
        self.expires_at = cache.parse_time(lease.get("expiresAt", ""))
        self.borrowed = bool(lease.get("borrowed"))
        self.capability_token = token
        self.claims = claims

    def __repr__(self):
        return "Lease(id=%r, units=%r, expires_at=%r)" % (self.id, self.units, self.expires_at)


class CapabilityMixin:
    """The capability calls of Client; retried with the client's back-off
    (the server's retry hint as a floor) when the server is busy."""

    def _retry(self, method, req):
        if self.rpc is None:
            raise LicensorError("unavailable", "no server configured", stage="server")
        n = 1
        while True:
            try:
                return self.rpc.call("CapabilityService", method, req)
            except LicensorError as e:
                if e.code not in ("exhausted", "unavailable") or n >= CAPABILITY_ATTEMPTS:
                    raise
                self._sleep(self.backoff(n, e.retry_after))
                n += 1

    def _verify_capability(self, token):
        if not token:
            return None
        claims = jws.verify_jws(token, self._keys, jws.CAPABILITY_TYPE)
        if claims.get("sub") != self.instance_id or claims.get("contract") != self.contract_id:
            raise LicensorError("invalid", "capability token is for another instance or contract", stage="verify")
        return claims

    def _ask(self, units, preview, allow_partial, borrow, request_id, pool_id):
        if not units:
            raise ValueError("units: name at least one feature")
        if not self._keys:
            self._fetch_jwks(force=True)
        req = {"contract_id": self.contract_id, "instance_id": self.instance_id,
               "capabilities": [{"feature": f, "units": str(int(n))} for f, n in units.items()],
               "preview": preview, "allow_partial": allow_partial,
               # One id for every retry: the server answers a retry with the first answer.
               "request_id": request_id or "req-" + secrets.token_hex(12)}
        if borrow:
            req["borrow"] = "%ds" % int(borrow)
        if pool_id:
            req["pool_id"] = pool_id
        res = self._retry("RequestCapabilities", req)
        if not res.get("granted"):
            raise DeniedError([{"feature": s.get("feature"), "requested": int(s.get("requested", 0)),
                                "available": int(s.get("available", 0)), "short": int(s.get("short", 0)),
                                "next_release": cache.parse_time(s.get("nextRelease", ""))}
                               for s in res.get("shortages", [])])
        return res

    def request_capabilities(self, units, allow_partial=False, borrow=None, request_id=None, pool_id=None):
        """Check out units ({feature: n}); returns a Lease or raises DeniedError
        naming what is short. borrow (seconds) asks for a long lease for going
        offline."""
        res = self._ask(units, False, allow_partial, borrow, request_id, pool_id)
        token = res.get("capabilityToken")
        return Lease(res.get("lease") or {}, token, self._verify_capability(token))

    def preview_capabilities(self, units, allow_partial=False, pool_id=None):
        """The same answer as request_capabilities, taking nothing: True, or DeniedError."""
        self._ask(units, True, allow_partial, None, None, pool_id)
        return True

    def renew_lease(self, lease):
        """Extend a live lease by its pool's TTL; returns the renewed Lease."""
        lease_id = lease.id if isinstance(lease, Lease) else lease
        res = self._retry("RenewLease", {"contract_id": self.contract_id, "instance_id": self.instance_id, "lease_id": lease_id})
        token = res.get("capabilityToken")
        return Lease(res.get("lease") or {}, token, self._verify_capability(token))

    def return_capabilities(self, lease, units=None):
        """Check units back in ({feature: n}; None returns the whole lease).
        Returns what is left of the lease, or None."""
        lease_id = lease.id if isinstance(lease, Lease) else lease
        req = {"contract_id": self.contract_id, "instance_id": self.instance_id, "lease_id": lease_id}
        if units:
            req["units"] = [{"feature": f, "units": str(int(n))} for f, n in units.items()]
        res = self._retry("ReturnCapabilities", req)
        return Lease(res["lease"]) if res.get("lease") else None

    def list_features(self):
        """What this instance holds (leases) and what the pools have (features)."""
        res = self._retry("ListFeatures", {"contract_id": self.contract_id, "instance_id": self.instance_id})
        return {"leases": [Lease(l) for l in res.get("leases", [])],
                "features": [{"pool_id": f.get("poolId"), "feature": f.get("feature"),
                              "max_units": int(f.get("maxUnits", 0)), "in_use": int(f.get("inUse", 0)),
                              "free": int(f.get("free", 0)), "held_by_instance": int(f.get("heldByInstance", 0))}
                             for f in res.get("features", [])]}
