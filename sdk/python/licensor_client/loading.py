"""Loading and saving what survives a restart: the instance id, the cached
license with the newest server time seen and the fetched JWKS, and the
static license file."""

import json
import os
import secrets

from . import cache, jws
from .errors import LicensorError


class LoadingMixin:
    """The Client's cache, instance id and license file."""

    def _path(self, ext):
        return os.path.join(self.cache_dir, cache.file_stem(self.contract_id) + ext)

    def _load_instance_id(self):
        path = self._path(".instance") if self.cache_dir else None
        if path:
            try:
                with open(path) as f:
                    v = f.read().strip()
                if v:
                    return v
            except FileNotFoundError:
                pass
        v = "inst-" + secrets.token_hex(10)
        if path:
            cache.write_atomic(path, (v + "\n").encode())
        else:
            self.log.warning("licensor: no cache_dir: the instance id %s is not persisted and a restart takes a new seat", v)
        return v

    def _init(self):
        with self._mu:
            if self._inited:
                return
            self._inited = True
        self._load_cache()
        self._load_static()
        # The license loaded is the first one held: its events fire now, as
        # the Go client's do, not folded into those of the first check.
        with self._mu:
            self._evaluate()
        self._drain()

    def _load_cache(self):
        if not self.cache_dir:
            return
        try:
            s = cache.read_cache(self._path(".json"))
        except (ValueError, OSError) as e:
            self.log.warning("licensor: ignoring the license cache: %s", e)
            return
        if s is None:
            return
        st = cache.parse_time(s.get("server_time", ""))
        with self._mu:
            if st:
                self._server_high = max(self._server_high, st)
        if not self._pinned and s.get("jwks"):
            try:
                raw = json.dumps(s["jwks"]).encode()
                self._keys, self._jwks_raw = jws.parse_jwks(raw), raw
            except LicensorError as e:
                self.log.warning("licensor: cached JWKS is corrupt; ignoring it: %s", e)
        if not s.get("token"):
            return
        try:
            if not self._keys:
                self._fetch_jwks(force=True)
            lic = self.verify(s["token"], "cache")
        except LicensorError as e:
            self.log.warning("licensor: cached license does not verify; ignoring it: %s", e.message)
            return
        with self._mu:
            # The signed iat is a floor for the clock that editing the cache cannot lower.
            self._server_high = max(self._server_high, lic.claims["iat"])
            self._online = lic

    def _load_static(self):
        if not self.license_file:
            return
        try:
            with open(self.license_file, "rb") as f:
                token = jws.dearmor(f.read())
            lic = self.verify(token, "file")
        except (OSError, LicensorError) as e:
            self.log.warning("licensor: static license file %s is not usable: %s", self.license_file, e)
            return
        with self._mu:
            self._server_high = max(self._server_high, lic.claims["iat"])
            self._static = lic

    def _save_cache(self):
        if not self.cache_dir:
            return
        with self._mu:
            token = self._online.token if self._online and self._online.source != "file" else None
            args = (token, self._server_high, self._jwks_raw)
        try:
            cache.write_cache(self._path(".json"), *args)
        except OSError as e:
            self.log.warning("licensor: cannot write the license cache: %s", e)
