"""What a client holds: a verified license, and a snapshot of its state."""

import json

UNLICENSED, VALID, EXPIRING_SOON, EXPIRED = "unlicensed", "valid", "expiring_soon", "expired"


class License:
    """A verified license: the token as signed, its claims and where it came from
    (server, cache or file)."""

    def __init__(self, token, claims, source):
        self.token, self.claims, self.source = token, claims, source

    @property
    def expires_at(self):
        return self.claims["exp"]

    def allowed(self, feature):
        v = self.claims.get("features", {}).get(feature)
        return v is True or (isinstance(v, int) and not isinstance(v, bool) and v > 0)

    def count(self, feature):
        v = self.claims.get("features", {}).get(feature)
        if v is True:
            return 1
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0

    def _key(self):
        c = self.claims
        return (self.source == "file", c.get("contract_version"), c.get("fallback_cutoff"),
                json.dumps(c.get("features"), sort_keys=True))


class Status:
    """A snapshot: the state of the license held, why, and how the checks go."""

    def __init__(self, **kw):
        self.state = kw.get("state", UNLICENSED)
        self.reason = kw.get("reason", "")
        self.remaining = kw.get("remaining", 0.0)
        self.expires_at = kw.get("expires_at")
        self.license_id = kw.get("license_id", "")
        self.source = kw.get("source", "")
        self.fallback = kw.get("fallback", False)
        self.last_error = kw.get("last_error")
        self.next_attempt = kw.get("next_attempt")

    @property
    def licensed(self):
        return self.state in (VALID, EXPIRING_SOON)

    def __repr__(self):
        return "Status(state=%r, reason=%r, remaining=%r)" % (self.state, self.reason, self.remaining)
