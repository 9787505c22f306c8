"""Balances per asset and positions per symbol, moved by fills.

A fill of ``q`` base at ``p`` with fee ``f`` (quote units) moves:

- buy:  ``base += q``, ``quote -= p × q + f``
- sell: ``base -= q``, ``quote += p × q − f``

The position of a symbol is the signed base quantity bought minus sold on that symbol, with the
average entry price of what is open and the realised P&L (quote units, before fees) of what was
closed: closing ``c`` units of a long at ``p`` realises ``c × (p − avg)``, of a short ``c × (avg − p)``.
Starting balances are not positions: they have no entry price.
"""

from __future__ import annotations


class PositionState:
    """One symbol's open quantity (signed, base units), average entry price and realised P&L."""

    __slots__ = ("avg_price", "quantity", "realized_pnl")

    def __init__(self, quantity: float = 0.0, avg_price: float = 0.0, realized_pnl: float = 0.0) -> None:
        self.quantity = quantity
        self.avg_price = avg_price
        self.realized_pnl = realized_pnl

    def apply(self, signed_qty: float, price: float, dust: float) -> None:
        """Add a fill of ``signed_qty`` (positive = bought) at ``price``; ``|quantity| <= dust`` is flat."""
        held = self.quantity
        new = held + signed_qty
        if held == 0.0 or (held > 0.0) == (signed_qty > 0.0):
            # Opening or adding: the entry price is the quantity-weighted mean.
            self.avg_price = (abs(held) * self.avg_price + abs(signed_qty) * price) / abs(new)
            self.quantity = new
            return
        closed = min(abs(signed_qty), abs(held))
        self.realized_pnl += closed * (price - self.avg_price) * (1.0 if held > 0.0 else -1.0)
        if abs(new) <= dust:
            self.quantity = 0.0
            self.avg_price = 0.0
        else:
            if (new > 0.0) != (held > 0.0):
                self.avg_price = price  # flipped through zero: the rest opened at this fill's price
            self.quantity = new


class Ledger:
    """Asset balances and per-symbol positions of one venue."""

    __slots__ = ("balances", "positions")

    def __init__(self, balances: dict[str, float] | None = None,
                 positions: dict[str, PositionState] | None = None) -> None:
        self.balances: dict[str, float] = dict(balances or {})
        self.positions: dict[str, PositionState] = dict(positions or {})

    def apply_fill(self, symbol: str, base: str, quote: str, is_buy: bool, quantity: float, price: float,
                   fee: float, dust: float) -> None:
        """Move balances and the position of ``symbol`` by one fill (formulas in the module docstring)."""
        balances = self.balances
        notional = price * quantity
        if is_buy:
            balances[base] = balances.get(base, 0.0) + quantity
            balances[quote] = balances.get(quote, 0.0) - notional - fee
        else:
            balances[base] = balances.get(base, 0.0) - quantity
            balances[quote] = balances.get(quote, 0.0) + notional - fee
        position = self.positions.get(symbol)
        if position is None:
            position = self.positions[symbol] = PositionState()
        position.apply(quantity if is_buy else -quantity, price, dust)
