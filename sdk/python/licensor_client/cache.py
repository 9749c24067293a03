"""The cache file, in the Go library's format, so either can start from the
other's cache: {"version": 1, "token", "server_time", "jwks"}, written
atomically with mode 0600 beside the instance id."""

import datetime
import json
import os
import re
import tempfile

CACHE_VERSION = 1
_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


def file_stem(contract_id):
    """A file-name-safe form of the contract id."""
    return "licensor-" + "".join(c if (c.isascii() and (c.isalnum() or c in "-_.")) else "_" for c in contract_id)


def parse_time(s):
    """RFC 3339 (any number of fraction digits, as Go and protobuf JSON write
    them) to seconds since the epoch; None when s is not one."""
    m = _RFC3339.match(s or "")
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = float(m.group(7)) if m.group(7) else 0.0
    tz = m.group(8)
    off = 0 if tz in ("Z", "z") else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    dt = datetime.datetime(y, mo, d, h, mi, se, tzinfo=datetime.timezone.utc)
    return dt.timestamp() - off + frac


def format_time(t):
    """Seconds since the epoch to RFC 3339 UTC with microseconds."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_atomic(path, data):
    """Write data to path so that a crash leaves the old file or the new one."""
    d = os.path.dirname(path)
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_cache(path):
    """The cache as a dict, or None when there is none; ValueError when corrupt."""
    try:
        with open(path, "rb") as f:
            s = json.loads(f.read())
    except FileNotFoundError:
        return None
    if not isinstance(s, dict) or s.get("version") != CACHE_VERSION:
        raise ValueError("license cache %s is corrupt" % path)
    return s


def write_cache(path, token, server_time, jwks):
    s = {"version": CACHE_VERSION}
    if token:
        s["token"] = token
    if server_time:
        s["server_time"] = format_time(server_time)
    if jwks:
        s["jwks"] = json.loads(jwks)
    write_atomic(path, json.dumps(s).encode())
