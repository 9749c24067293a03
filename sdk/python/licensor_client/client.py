"""The client: holds a verified, fresh license; see the package docstring."""

import logging
import random
import socket
import threading
import time

from . import cache, jws
from .capability import CapabilityMixin
from .errors import LicensorError
from .license import EXPIRED, EXPIRING_SOON, UNLICENSED, VALID, License, Status
from .loading import LoadingMixin
from .rpc import MAX_RETRY_HINT, Transport

_JWKS_MIN_INTERVAL = 60.0


class Client(CapabilityMixin, LoadingMixin):
    """Keeps a verified license for one contract.

    Times are seconds (floats); now() returns seconds since the epoch. Give
    keys (the tenant's JWKS, pinned) or tenant_id with server (fetched and
    cached). Nothing is global: several clients work in one process.
    """

    def __init__(self, contract_id, server=None, token=None, instance_id=None, keys=None,
                 tenant_id=None, cache_dir=None, license_file=None, refresh_interval=None,
                 timeout=5.0, expiring_soon=7 * 86400.0, clock_skew=jws.DEFAULT_SKEW,
                 min_backoff=1.0, max_backoff=300.0, ca_file=None, ssl_context=None,
                 telemetry=None, host=None, watch=False, now=time.time, rand=random.random, sleep=time.sleep,
                 logger=None):
        if not contract_id:
            raise ValueError("contract_id is required")
        if server and not token:
            raise ValueError("token (the contract token) is required with server")
        if not keys and not (server and tenant_id):
            raise ValueError("give keys (the tenant's JWKS) or tenant_id and server to fetch it")
        self.contract_id = contract_id
        self.tenant_id = tenant_id
        self.cache_dir = cache_dir
        self.license_file = license_file
        self.refresh_interval = refresh_interval
        self.expiring_soon = expiring_soon
        self.clock_skew = clock_skew
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.telemetry = telemetry
        self.watch = watch
        self._watch_thread = None
        self.host = host or socket.gethostname()
        self._now, self._rand, self._sleep = now, rand, sleep
        self.log = logger or logging.getLogger("licensor_client")
        self.rpc = Transport(server, token, timeout, ca_file, ssl_context) if server else None
        self._pinned = bool(keys)
        self._keys = jws.parse_jwks(keys) if keys else {}
        self._jwks_raw = None
        self._jwks_fetched = None
        self._mu = threading.RLock()
        self._events = []
        self._drain_mu = threading.Lock()
        self._handlers = {"change": [], "expiring_soon": [], "expired": [], "error": []}
        self._online = self._static = None
        self._server_high = 0.0
        self._failures = 0
        self._last_err = None
        self._next_attempt = None
        self._last_state = None
        self._last_key = None
        self._inited = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self.instance_id = instance_id or self._load_instance_id()

    # --- events -------------------------------------------------------

    def on_change(self, fn):
        """fn(License): the first license, a new contract version, a fallback,
        a switch to or from the static file. A routine refresh does not fire it."""
        self._handlers["change"].append(fn)

    def on_expiring_soon(self, fn):
        """fn(remaining_seconds): entering expiring_soon."""
        self._handlers["expiring_soon"].append(fn)

    def on_expired(self, fn):
        """fn(): entering expired."""
        self._handlers["expired"].append(fn)

    def on_error(self, fn):
        """fn(LicensorError): checks start failing, or fail differently."""
        self._handlers["error"].append(fn)

    def _drain(self):
        # One at a time and in order; a handler may call back into the client.
        with self._drain_mu:
            while True:
                with self._mu:
                    if not self._events:
                        return
                    name, args = self._events.pop(0)
                for fn in list(self._handlers[name]):
                    try:
                        fn(*args)
                    except Exception:
                        self.log.exception("licensor %s handler failed", name)

    # --- clock and state ----------------------------------------------

    def now(self):
        """The client's clock: never earlier than the newest server time seen."""
        with self._mu:
            return max(self._now(), self._server_high)

    def _valid_at(self, lic, now):
        c = lic.claims
        return now + self.clock_skew >= c["nbf"] and now - self.clock_skew < c["exp"]

    def _current(self, now):
        held = [l for l in (self._online, self._static) if l is not None]
        for l in held:
            if self._valid_at(l, now):
                return l
        return max(held, key=lambda l: l.claims["exp"]) if held else None

    def status(self):
        """The state now; fires the events a change of state calls for."""
        self._init()
        with self._mu:
            st = self._evaluate()
        self._drain()
        return st

    def _evaluate(self):
        now = self.now()
        st = Status(last_error=self._last_err, next_attempt=self._next_attempt)
        lic = self._current(now)
        if lic is None:
            st.reason = "no license yet" + (": %s" % self._last_err if self._last_err else "")
        else:
            c = lic.claims
            st.expires_at, st.license_id, st.source = c["exp"], c.get("jti", ""), lic.source
            st.fallback = bool(c.get("fallback_cutoff"))
            if now + self.clock_skew < c["nbf"]:
                st.reason = "license is not valid yet"
            elif now - self.clock_skew >= c["exp"]:
                st.state, st.reason = EXPIRED, "license expired at %s" % cache.format_time(c["exp"])
            else:
                st.remaining = c["exp"] - now
                st.state = EXPIRING_SOON if st.remaining < self.expiring_soon else VALID
                if st.state == EXPIRING_SOON:
                    st.reason = "license expires in %.0f s" % st.remaining
            if st.state != UNLICENSED and self._last_err and st.reason:
                st.reason += "; last check: %s" % self._last_err
        if st.state != self._last_state:
            if st.state == EXPIRING_SOON:
                self.log.warning("licensor: license expires in %.0f s", st.remaining)
                self._events.append(("expiring_soon", (st.remaining,)))
            elif st.state == EXPIRED:
                self._events.append(("expired", ()))
            self._last_state = st.state
        if lic is not None and st.state in (VALID, EXPIRING_SOON) and lic._key() != self._last_key:
            self._last_key = lic._key()
            self._events.append(("change", (lic,)))
        return st

    def license(self):
        """The license held (a valid one if there is one), or None."""
        self._init()
        with self._mu:
            return self._current(self.now())

    def _valid_license(self):
        self._init()
        with self._mu:
            now = self.now()
            lic = self._current(now)
            return lic if lic is not None and self._valid_at(lic, now) else None

    def licensed(self):
        return self.status().licensed

    def allowed(self, feature):
        lic = self._valid_license()
        return lic is not None and lic.allowed(feature)

    def count(self, feature):
        lic = self._valid_license()
        return lic.count(feature) if lic is not None else 0

    def remaining(self):
        return self.status().remaining

    # --- verification ---------------------------------------------------

    def _fetch_jwks(self, force=False):
        if self._pinned or self.rpc is None:
            return False
        now = time.monotonic()
        if not force and self._jwks_fetched is not None and now - self._jwks_fetched < _JWKS_MIN_INTERVAL:
            return False
        self._jwks_fetched = now
        raw = self.rpc.jwks(self.tenant_id)
        keys = jws.parse_jwks(raw)
        with self._mu:
            self._keys, self._jwks_raw = keys, raw
        return True

    def verify(self, token, source="server"):
        """Verify a license for this client offline and return it as a License."""
        with self._mu:
            keys = dict(self._keys)
        try:
            claims = jws.verify_jws(token, keys, jws.LICENSE_TYPE)
        except LicensorError as e:
            # A key rotation: fetch the tenant's JWKS again (at most once a minute).
            if "unknown signing key" not in e.message or not self._fetch_jwks():
                raise
            with self._mu:
                keys = dict(self._keys)
            claims = jws.verify_jws(token, keys, jws.LICENSE_TYPE)
        jws.check_claims(claims)
        if claims["sub"] != self.instance_id:
            raise LicensorError("invalid", "license is for instance %r, not %r" % (claims["sub"], self.instance_id), stage="verify")
        if claims["contract"] != self.contract_id:
            raise LicensorError("invalid", "license is for contract %r, not %r" % (claims["contract"], self.contract_id), stage="verify")
        if self.tenant_id and claims["iss"] != self.tenant_id:
            raise LicensorError("invalid", "license is from tenant %r, not %r" % (claims["iss"], self.tenant_id), stage="verify")
        jws.check_time(claims, self.now(), self.clock_skew)
        return License(token, claims, source)

    # --- checks -----------------------------------------------------------

    def backoff(self, n, hint=0.0):
        """The wait before retry n (1 for the first): exponential from min_backoff,
        capped at max_backoff, full jitter, never below min_backoff; a server
        retry hint is a floor (capped at one hour) plus up to a tenth more."""
        ceil = min(self.max_backoff, self.min_backoff * (2 ** (max(n, 1) - 1)))
        d = max(self._rand() * ceil, self.min_backoff)
        if hint > 0:
            hint = min(hint, MAX_RETRY_HINT)
            d = max(d, hint + self._rand() * hint / 10)
        return d

    def _jitter(self, d):
        return d * (0.9 + 0.2 * self._rand())

    def refresh(self):
        """Fetch a license now. Returns the License; raises LicensorError (and
        schedules the retry) when the check fails."""
        self._init()
        if self.rpc is None:
            raise LicensorError("unavailable", "no server configured: running offline", stage="server")
        try:
            if not self._keys:
                self._fetch_jwks(force=True)
            res = self.rpc.call("LicenseService", "GetLicense", self._license_request())
            issued = res.get("license") if isinstance(res, dict) else None
            if not isinstance(issued, dict):
                raise LicensorError("internal", "the server's answer has no license", stage="server")
            return self._accept(issued, "server")
        except LicensorError as err:
            self._failed(err)
            raise

    def _license_request(self):
        req = {"contract_id": self.contract_id, "instance_id": self.instance_id, "host": self.host}
        if self.telemetry:
            req["telemetry"] = self.telemetry()
        return req

    def _accept(self, issued, source):
        """Verify a license from the server or the stream and hold it."""
        st = cache.parse_time(issued.get("serverTime", ""))
        if st:
            with self._mu:
                self._server_high = max(self._server_high, st)
        lic = self.verify(issued.get("token", ""), source)
        with self._mu:
            self._server_high = max(self._server_high, lic.claims["iat"])
            self._online = lic
            self._failures, self._last_err = 0, None
            every = self.refresh_interval or lic.claims.get("refresh_after") or 7200
            self._next_attempt = self.now() + self._jitter(every)
        self._save_cache()
        self.status()
        return lic

    def _failed(self, err):
        with self._mu:
            prev = self._last_err
            self._failures += 1
            self._last_err = err
            self._next_attempt = self.now() + self.backoff(self._failures, err.retry_after)
            if prev is None or (prev.stage, prev.code) != (err.stage, err.code):
                self._events.append(("error", (err,)))
        self.log.warning("licensor: license check failed: %s", err)
        self._drain()

    def start(self):
        """Load the cache and the license file, then keep the license fresh in a
        background thread. With a valid cached license it returns at once;
        otherwise it waits for the first check (at most the timeout). Returns
        the Status; an unlicensed one names the last error, and the client
        keeps retrying."""
        st = self.status()
        if not st.licensed and self.rpc is not None:
            try:
                self.refresh()
            except LicensorError:
                pass
            st = self.status()
        elif self.rpc is not None:
            with self._mu:
                self._next_attempt = self.now()  # fetch in the background at once
        if self.rpc is not None and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="licensor-refresh", daemon=True)
            self._thread.start()
            if self.watch:
                self._watch_thread = threading.Thread(target=self._watch_loop, name="licensor-watch", daemon=True)
                self._watch_thread.start()
        return st

    def _next_wake(self):
        # The next check, or the next state boundary, whichever comes first, so
        # that the events fire on time even when no check is due.
        with self._mu:
            now = self.now()
            t = self._next_attempt if self._next_attempt is not None else now
            lic = self._current(now)
            if lic is not None:
                for b in (lic.claims["exp"] - self.expiring_soon, lic.claims["exp"] + self.clock_skew):
                    if b > now:
                        t = min(t, b)
            return max(t - now, 0.0)

    def _loop(self):
        while not self._stop.is_set():
            wait = self._next_wake()
            if wait > 0:
                # Bounded so that a jump of the wall clock is noticed.
                self._wake.wait(min(wait, 60.0))
                self._wake.clear()
                if self._stop.is_set():
                    return
            with self._mu:
                due = self._next_attempt is None or self.now() >= self._next_attempt
            if due:
                try:
                    self.refresh()
                except LicensorError:
                    pass
                except Exception as e:  # an answer this version cannot read: a failure, never the thread's end
                    self._failed(LicensorError("internal", "license check: %r" % e))
            else:
                self.status()

    def close(self):
        """Stop the background thread (it holds no seat open: the lease of the
        license simply runs out)."""
        self._stop.set()
        self._wake.set()
        if self.rpc is not None:
            self.rpc.close_streams()
        for t in (self._thread, self._watch_thread):
            if t is not None:
                t.join(timeout=10)
        self._thread = self._watch_thread = None

    def _watch_loop(self):
        # The WatchLicense stream: the license at once, then a fresh one
        # whenever the contract changes. Polling goes on beside it; a broken
        # stream is reopened after the back-off.
        fails = 0
        while not self._stop.is_set():
            hint = 0.0
            try:
                for msg in self.rpc.stream("LicenseService", "WatchLicense", self._license_request()):
                    self._accept((msg or {}).get("license") or {}, "stream")
                    fails = 0
            except Exception as e:  # LicensorError, or an answer this version cannot read
                if self._stop.is_set():
                    return
                hint = getattr(e, "retry_after", 0.0)
                self.log.warning("licensor: license stream broke; polling goes on: %s", e)
            fails += 1
            self._stop.wait(self.backoff(fails, hint))
