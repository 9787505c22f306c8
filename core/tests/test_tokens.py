"""Risk tokens: every economic field is covered, keys rotate, expiry holds."""

from __future__ import annotations

import pytest

from ais.domain.orders import Order, OrderType, Side
from ais.errors import SecretError
from ais.risk.tokens import Keyring, TokenError, sign, verify_token

NOW = 1_700_000_000_000
KEY_A = "a" * 40
KEY_B = "b" * 40


def order() -> Order:
    return Order(
        "run:1", "ais-run-1", "paper", "ETH/BTC", Side.BUY, OrderType.LIMIT, 1.5, 0.09, False, "m", NOW
    )


def signed(keyring: Keyring, o: Order | None = None, now: int = NOW) -> Order:
    o = o or order()
    return o.with_token(sign(o, keyring, now, 300))


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_A})


def test_valid_token_verifies(keyring: Keyring) -> None:
    verify_token(signed(keyring), keyring, NOW + 1000)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "run:2"),
        ("client_order_id", "ais-run-2"),
        ("venue", "other"),
        ("symbol", "LTC/BTC"),
        ("side", Side.SELL),
        ("type", OrderType.MARKET),
        ("quantity", 1.5000001),
        ("limit_price", 0.091),
        ("reduce_only", True),
    ],
)
def test_each_economic_field_is_signed(keyring: Keyring, field: str, value: object) -> None:
    tampered = signed(keyring)._replace(**{field: value})
    with pytest.raises(TokenError) as err:
        verify_token(tampered, keyring, NOW + 1000)
    assert err.value.reason == "BAD_SIGNATURE"


def test_token_times_and_key_id_are_signed(keyring: Keyring) -> None:
    token = signed(keyring).token
    assert token is not None
    v, kid, iat, exp, mac = token.split(".")
    for forged in (f"{v}.{kid}.{iat}.{int(exp) + 10**9}.{mac}", f"{v}.{kid}.{int(iat) + 1}.{exp}.{mac}"):
        with pytest.raises(TokenError, match="BAD_SIGNATURE"):
            verify_token(order()._replace(token=forged), keyring, NOW + 1000)


def test_expired(keyring: Keyring) -> None:
    with pytest.raises(TokenError) as err:
        verify_token(signed(keyring), keyring, NOW + 300_000)
    assert err.value.reason == "EXPIRED"


def test_missing_and_malformed(keyring: Keyring) -> None:
    with pytest.raises(TokenError, match="MISSING"):
        verify_token(order(), keyring, NOW)
    with pytest.raises(TokenError, match="MALFORMED"):
        verify_token(order()._replace(token="v1.x.y"), keyring, NOW)


def test_unknown_key_id(keyring: Keyring) -> None:
    other = Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_B})
    with pytest.raises(TokenError) as err:
        verify_token(signed(other), keyring, NOW)
    assert err.value.reason == "UNKNOWN_KEY"


def test_rotation_accepts_previous_key_until_removed() -> None:
    old = Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_A})
    token_by_old_key = signed(old)
    rotated = Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_B, "AIS_RISK_HMAC_SECRET_PREVIOUS": KEY_A})
    verify_token(token_by_old_key, rotated, NOW)
    verify_token(signed(rotated), rotated, NOW)
    assert signed(rotated).token.split(".")[1] != token_by_old_key.token.split(".")[1]  # type: ignore[union-attr]
    after = Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_B})
    with pytest.raises(TokenError, match="UNKNOWN_KEY"):
        verify_token(token_by_old_key, after, NOW)


def test_explicit_key_ids() -> None:
    ring = Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_A, "AIS_RISK_HMAC_KEY_ID": "2026-11"})
    assert signed(ring).token.split(".")[1] == "2026-11"  # type: ignore[union-attr]


@pytest.mark.parametrize("env", [{}, {"AIS_RISK_HMAC_SECRET": "short"}])
def test_missing_or_short_secret_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(SecretError, match="AIS_RISK_HMAC_SECRET"):
        Keyring.from_env(env)


def test_short_previous_secret_refused() -> None:
    with pytest.raises(SecretError, match="AIS_RISK_HMAC_SECRET_PREVIOUS"):
        Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_A, "AIS_RISK_HMAC_SECRET_PREVIOUS": "x"})


def test_key_id_must_be_a_plain_word() -> None:
    with pytest.raises(SecretError, match="AIS_RISK_HMAC_KEY_ID must be"):
        Keyring.from_env({"AIS_RISK_HMAC_SECRET": KEY_A, "AIS_RISK_HMAC_KEY_ID": "2026.11"})


@pytest.mark.parametrize("length", [32, 63, 64, 65, 200])
def test_the_token_mac_is_rfc_2104_hmac_sha256(length: int) -> None:
    import hashlib
    import hmac

    from ais.risk.tokens import _Mac

    key = bytes(range(256))[:length] if length <= 256 else b"k" * length
    for message in (b"", b"v1\x1fais-1\x1fpaper", b"x" * 1000):
        assert _Mac(key).hex(message) == hmac.new(key, message, hashlib.sha256).hexdigest()
