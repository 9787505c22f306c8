"""Risk tokens: HMAC-SHA256 over every economic field of an order (DESIGN §5).

Format: ``v1.<key id>.<issued-at ms>.<expiry ms>.<mac, hex>``. The MAC covers a canonical
encoding of order id, client order id, venue, symbol, side, type, quantity, limit price,
reduce-only, issued-at, expiry and key id, so changing any of them invalidates the token.

Public API for exchange-adapter authors: ``Keyring.from_env()`` and ``verify_token(order, keyring)``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass, field

from ais.domain.orders import Order
from ais.errors import SecretError

MIN_KEY_BYTES = 32
ENV_SECRET = "AIS_RISK_HMAC_SECRET"
ENV_SECRET_PREVIOUS = "AIS_RISK_HMAC_SECRET_PREVIOUS"
ENV_KEY_ID = "AIS_RISK_HMAC_KEY_ID"
ENV_KEY_ID_PREVIOUS = "AIS_RISK_HMAC_KEY_ID_PREVIOUS"
_SEP = "\x1f"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TokenError(Exception):
    """A token was refused. ``reason`` is a stable code: MISSING, MALFORMED, UNKNOWN_KEY,
    BAD_SIGNATURE, EXPIRED, NOT_YET_VALID, REPLAYED."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def fingerprint(key: bytes) -> str:
    return "fp-" + hashlib.sha256(key).hexdigest()[:12]


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class _Mac:
    """HMAC-SHA256 (RFC 2104) of one key, its padded inner and outer hash states computed once: a MAC
    then costs two hash-state copies, a fraction of a one-shot ``hmac.digest`` (OpenSSL 3 sets a whole
    HMAC context up per call). An order's token is computed three times (sign, OMS, adapter)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def hex(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_BLOCK = 64  # SHA-256's block size, in bytes


@dataclass(frozen=True)
class Keyring:
    """The current signing key and, during a rotation, the previous one (verify only)."""

    key_id: str
    key: bytes
    previous_id: str | None = None
    previous: bytes | None = None
    _macs: dict[bytes, _Mac] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for variable, key_id in ((ENV_KEY_ID, self.key_id), (ENV_KEY_ID_PREVIOUS, self.previous_id)):
            if key_id is not None and not _KEY_ID.fullmatch(key_id):
                raise SecretError(f"{variable} must be 1-64 letters, digits, '-' or '_' (got {key_id!r})")
        for name, key in (("current", self.key), ("previous", self.previous)):
            if key is not None and len(key) < MIN_KEY_BYTES:
                raise SecretError(f"the {name} risk HMAC key is shorter than {MIN_KEY_BYTES} bytes")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Keyring:
        """Keys from ``AIS_RISK_HMAC_SECRET`` (+ ``_PREVIOUS``, ``AIS_RISK_HMAC_KEY_ID``).
        Raises ``SecretError`` (exit 4) naming the variable to set."""
        env = os.environ if environ is None else environ
        raw = env.get(ENV_SECRET, "")
        if not raw:
            raise SecretError(
                f"{ENV_SECRET} is not set: set it to a random secret of at least {MIN_KEY_BYTES} bytes "
                "(e.g. `export AIS_RISK_HMAC_SECRET=$(openssl rand -hex 32)`)"
            )
        key = raw.encode()
        if len(key) < MIN_KEY_BYTES:
            raise SecretError(
                f"{ENV_SECRET} is {len(key)} bytes; "
                f"set it to a random secret of at least {MIN_KEY_BYTES} bytes"
            )
        prev_raw = env.get(ENV_SECRET_PREVIOUS, "")
        previous = prev_raw.encode() if prev_raw else None
        if previous is not None and len(previous) < MIN_KEY_BYTES:
            raise SecretError(f"{ENV_SECRET_PREVIOUS} is shorter than {MIN_KEY_BYTES} bytes")
        return cls(
            key_id=env.get(ENV_KEY_ID) or fingerprint(key),
            key=key,
            previous_id=(env.get(ENV_KEY_ID_PREVIOUS) or fingerprint(previous)) if previous else None,
            previous=previous,
        )

    @classmethod
    def ephemeral(cls) -> Keyring:
        """A random per-run key (backtests)."""
        key = secrets.token_bytes(MIN_KEY_BYTES)
        return cls(key_id="run-" + secrets.token_hex(4), key=key)

    def key_for(self, key_id: str) -> bytes | None:
        if hmac.compare_digest(key_id, self.key_id):
            return self.key
        if self.previous_id is not None and hmac.compare_digest(key_id, self.previous_id):
            return self.previous
        return None


def _canonical(order: Order, issued_at: int, expiry: int, key_id: str) -> bytes:
    limit = "" if order.limit_price is None else repr(float(order.limit_price))
    return _SEP.join(
        (
            order.id,
            order.client_order_id,
            order.venue,
            order.symbol,
            order.side,  # StrEnum members are str: no .value lookup (slow) needed
            order.type,
            repr(float(order.quantity)),
            limit,
            "1" if order.reduce_only else "0",
            str(issued_at),
            str(expiry),
            key_id,
        )
    ).encode()


def _mac(keyring: Keyring, key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under ``key`` (one of ``keyring``'s), as hex."""
    mac = keyring._macs.get(key)
    if mac is None:
        mac = keyring._macs[key] = _Mac(key)
    return mac.hex(message)


def sign(order: Order, keyring: Keyring, now_ms: int, ttl_s: int) -> str:
    """A token approving exactly ``order`` from ``now_ms`` for ``ttl_s`` seconds."""
    expiry = now_ms + ttl_s * 1000
    mac = _mac(keyring, keyring.key, _canonical(order, now_ms, expiry, keyring.key_id))
    return f"v1.{keyring.key_id}.{now_ms}.{expiry}.{mac}"


def parse(token: str) -> tuple[str, int, int, str]:
    """(key id, issued-at, expiry, mac) of a token; ``TokenError(MALFORMED)`` if it is not one."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "v1":
        raise TokenError("MALFORMED", "not a v1 risk token")
    try:
        return parts[1], int(parts[2]), int(parts[3]), parts[4]
    except ValueError:
        raise TokenError("MALFORMED", "token times are not integers") from None


def verify_token(order: Order, keyring: Keyring, now_ms: int | None = None) -> None:
    """Raise ``TokenError`` unless ``order.token`` is a valid, unexpired approval of exactly this
    order by a key in ``keyring``. Constant-time comparison. Does not track single use (the OMS
    does); exchange adapters call this before sending."""
    if not order.token:
        raise TokenError("MISSING", f"order {order.client_order_id} carries no risk token")
    key_id, issued_at, expiry, mac = parse(order.token)
    key = keyring.key_for(key_id)
    if key is None:
        raise TokenError("UNKNOWN_KEY", f"token key id {key_id!r} is not a configured key")
    expected = _mac(keyring, key, _canonical(order, issued_at, expiry, key_id))
    if not hmac.compare_digest(expected, mac):
        raise TokenError("BAD_SIGNATURE", f"token does not match order {order.client_order_id}")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if now >= expiry:
        raise TokenError("EXPIRED", f"token expired {now - expiry} ms ago")
    if now < issued_at - 5_000:  # allow a little clock skew between signer and verifier
        raise TokenError("NOT_YET_VALID", "token issued in the future")


def token_id(token: str) -> str:
    """The identity used for single-use tracking (the MAC part)."""
    return token.rsplit(".", 1)[-1]
