from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence

import pytest
from ais_arbitration_weighted.arbitration import WeightedArbitration, WeightedArbitrationConfig
from ais_arbitration_weighted.scoring import REGIMES
from pydantic import ValidationError

from ais.config.messages import first_error_line
from ais.context import ArbitrationContext, SharedState
from ais.domain import Direction, Signal
from ais.testing import host_with, make_instance
from ais.testing.conformance import ArbitrationContract

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


class TestWeightedContract(ArbitrationContract):
    @pytest.fixture
    def arbitration(self) -> WeightedArbitration:
        return make_instance(WeightedArbitration, "weighted")


def sig(agent: str, symbol: str, direction: Direction = LONG, confidence: float = 0.5, er: float = 0.01,
        liquidity: float = 1.0, group: str | None = None) -> Signal:
    return Signal(symbol, direction, confidence, er, 3600, liquidity, f"{agent} on {symbol}", 1, agent, group)


def ctx(
    weights: Mapping[str, float] | None = None, regimes: Mapping[str, str] | None = None
) -> ArbitrationContext:
    """Agent weights, and regimes published the way a detector agent would."""
    shared = SharedState()
    for symbol, regime in (regimes or {}).items():
        shared.publish("regime", symbol, regime)
    return ArbitrationContext(dict(weights or {}), shared)


def arb(**options: object) -> WeightedArbitration:
    return make_instance(WeightedArbitration, "weighted", **options)


def chosen(result: Sequence[Signal], given: Sequence[Signal]) -> list[int]:
    """Positions in ``given`` of the selected signals, checking they are the very same objects."""
    out = []
    for s in result:
        [pos] = [i for i, g in enumerate(given) if g is s]
        out.append(pos)
    return out


# -- scoring and per-symbol winners -----------------------------------------------------------------

def test_one_winner_per_symbol_not_per_cycle() -> None:
    given = [
        sig("momentum", "AAA/USD", LONG, 0.9, 0.010),   # 0.009
        sig("mean_rev", "AAA/USD", SHORT, 0.6, 0.020),  # 0.012: wins AAA
        sig("momentum", "BBB/USD", SHORT, 0.8, 0.010),  # 0.008: alone on BBB
        sig("breakout", "CCC/USD", LONG, 0.5, 0.010),   # 0.005
        sig("momentum", "CCC/USD", LONG, 0.5, 0.011),   # 0.0055: wins CCC
    ]
    assert chosen(arb().ais_arbitrate(given, ctx()), given) == [1, 2, 4]


def test_weight_liquidity_and_expected_return_all_count() -> None:
    a = sig("a", "AAA/USD", LONG, 0.5, 0.02, liquidity=1.0)
    b = sig("b", "AAA/USD", LONG, 0.5, 0.02, liquidity=0.9)
    assert arb().ais_arbitrate([a, b], ctx())[0] is a
    assert arb().ais_arbitrate([a, b], ctx({"a": 0.8, "b": 1.0}))[0] is b   # 0.8 < 0.9
    c = sig("c", "AAA/USD", LONG, 0.5, 0.03, liquidity=0.9)
    assert arb().ais_arbitrate([a, c], ctx())[0] is c                        # 0.027 > 0.02
    # An agent missing from the weights counts 1.0; a zero weight removes it.
    assert arb().ais_arbitrate([a], ctx({"b": 5.0})) == [a]
    assert arb().ais_arbitrate([a], ctx({"a": 0.0})) == []


def test_signals_not_worth_acting_on_are_dropped() -> None:
    losing = sig("a", "AAA/USD", LONG, 0.9, -0.01)
    nothing = sig("b", "AAA/USD", SHORT, 0.9, 0.0)
    assert arb().ais_arbitrate([losing, nothing], ctx()) == []


def test_flat_scores_without_expected_return_and_ranks_below_a_position() -> None:
    flat = sig("exit", "AAA/USD", FLAT, 0.5, -0.5, liquidity=0.8)   # 0.4, whatever its expected return
    weaker = sig("other_exit", "AAA/USD", FLAT, 0.4, 0.9, liquidity=0.8)  # 0.32
    assert arb().ais_arbitrate([weaker, flat], ctx()) == [flat]
    long = sig("entry", "AAA/USD", LONG, 1.0, 0.001, liquidity=0.1)  # 0.0001: still a position to take
    assert arb().ais_arbitrate([long, flat], ctx()) == [long]
    assert arb().ais_arbitrate([flat], ctx()) == [flat]


def test_a_directional_single_outranks_a_flat_pair() -> None:
    legs = [sig("pairs", s, FLAT, 1.0, 0.0, group="g") for s in ("AAA/USD", "BBB/USD")]
    long = sig("entry", "AAA/USD", LONG, 0.2, 0.001, liquidity=0.5)
    assert arb().ais_arbitrate([*legs, long], ctx()) == [long]


@pytest.mark.parametrize(("threshold", "kept"), [(0.0, [0, 1]), (0.5, [1]), (0.7, [1]), (0.70001, [])])
def test_min_confidence(threshold: float, kept: list[int]) -> None:
    given = [sig("a", "AAA/USD", LONG, 0.4), sig("b", "BBB/USD", LONG, 0.7)]
    assert chosen(arb(min_confidence=threshold).ais_arbitrate(given, ctx()), given) == kept


def test_min_confidence_drops_before_competing() -> None:
    # The stronger-scoring but unsure signal is dropped, so the surer one wins the symbol.
    unsure = sig("a", "AAA/USD", LONG, 0.3, 0.10)   # 0.03
    sure = sig("b", "AAA/USD", SHORT, 0.8, 0.01)    # 0.008
    assert arb().ais_arbitrate([unsure, sure], ctx()) == [unsure]
    assert arb(min_confidence=0.5).ais_arbitrate([unsure, sure], ctx()) == [sure]


# -- regimes ----------------------------------------------------------------------------------------

REGIME_TABLE = {"mean_rev": {"trending_up": 0.0, "ranging": 2.0}}


def test_regime_scaling_to_zero_silences_an_agent_in_that_regime() -> None:
    given = [
        sig("mean_rev", "AAA/USD", SHORT, 0.9, 0.02),   # 0.018, but AAA trends up: × 0
        sig("momentum", "AAA/USD", LONG, 0.5, 0.01),    # 0.005
        sig("mean_rev", "BBB/USD", LONG, 0.9, 0.02),    # BBB trends down: no entry for it, × 1
        sig("mean_rev", "CCC/USD", SHORT, 0.9, 0.02),   # CCC has no published regime: × 1
    ]
    regimes = {"AAA/USD": "trending_up", "BBB/USD": "trending_down"}
    scaled = arb(regime_weights=REGIME_TABLE)
    assert chosen(scaled.ais_arbitrate(given, ctx(regimes=regimes)), given) == [1, 2, 3]
    # Without the table, mean_rev wins AAA.
    assert chosen(arb().ais_arbitrate(given, ctx(regimes=regimes)), given) == [0, 2, 3]
    # Alone and zeroed, nothing is selected.
    assert scaled.ais_arbitrate(given[:1], ctx(regimes=regimes)) == []


def test_regime_multiplier_above_one_can_change_the_winner() -> None:
    mr = sig("mean_rev", "AAA/USD", SHORT, 0.5, 0.01)   # 0.005 × 2 in a range
    mo = sig("momentum", "AAA/USD", LONG, 0.8, 0.01)    # 0.008
    scaled = arb(regime_weights=REGIME_TABLE)
    assert scaled.ais_arbitrate([mo, mr], ctx(regimes={"AAA/USD": "ranging"})) == [mr]
    assert scaled.ais_arbitrate([mo, mr], ctx(regimes={"AAA/USD": "high_volatility"})) == [mo]


def test_regime_config_is_validated_with_one_line_messages() -> None:
    cases = {
        "regime_weights.mean_rev.trending_upp": {"regime_weights": {"mean_rev": {"trending_upp": 0.0}}},
        "regime_weights.mean_rev.ranging: must be a number >= 0": {
            "regime_weights": {"mean_rev": {"ranging": -1}}
        },
        "min_confidence: must be a number <= 1": {"min_confidence": 1.5},
        "min_conf: unknown key": {"min_conf": 0.1},
    }
    for expected, options in cases.items():
        with pytest.raises(ValidationError) as info:
            WeightedArbitrationConfig.model_validate(options)
        line = first_error_line(
            "ais.toml", ["arbitration", "weighted"], info.value, WeightedArbitrationConfig
        )
        assert f"arbitration.weighted.{expected}" in line
    ok = WeightedArbitrationConfig.model_validate({"regime_weights": {"x": dict.fromkeys(REGIMES, 0.5)}})
    assert set(ok.regime_weights["x"]) == set(REGIMES)


# -- groups -----------------------------------------------------------------------------------------

def pair(agent: str = "pairs", label: str = "p1", conf: float = 0.8, er: float = 0.02,
         symbols: tuple[str, str] = ("AAA/USD", "BBB/USD")) -> list[Signal]:
    """Two legs of one group: long the first symbol, short the second."""
    return [
        sig(agent, symbols[0], LONG, conf, er, group=label),
        sig(agent, symbols[1], SHORT, conf, er, group=label),
    ]


def test_group_wins_all_legs_when_it_beats_every_single() -> None:
    legs = pair()                                          # mean 0.016
    singles = [sig("a", "AAA/USD", SHORT, 0.5, 0.02),      # 0.010
               sig("b", "BBB/USD", LONG, 0.5, 0.03),       # 0.015
               sig("c", "CCC/USD", LONG, 0.5, 0.01)]       # unrelated
    given = [*singles[:2], *legs, singles[2]]
    assert chosen(arb().ais_arbitrate(given, ctx()), given) == [2, 3, 4]


def test_group_loses_all_legs_when_one_symbol_has_a_better_single() -> None:
    legs = pair()                                          # mean 0.016
    singles = [sig("a", "AAA/USD", SHORT, 0.5, 0.02),      # 0.010 < 0.016
               sig("b", "BBB/USD", LONG, 0.5, 0.04)]       # 0.020 > 0.016
    given = [*legs, *singles]
    assert chosen(arb().ais_arbitrate(given, ctx()), given) == [2, 3]
    # A tie is not a win: the single keeps the symbol.
    tie = [*legs, sig("b", "BBB/USD", LONG, 0.8, 0.02)]
    assert chosen(arb().ais_arbitrate(tie, ctx()), tie) == [2]


def test_group_score_is_the_mean_of_its_legs() -> None:
    legs = [sig("pairs", "AAA/USD", LONG, 1.0, 0.03, group="p"),    # 0.03
            sig("pairs", "BBB/USD", SHORT, 1.0, 0.01, group="p")]   # 0.01: mean 0.02
    beaten = [*legs, sig("x", "BBB/USD", LONG, 1.0, 0.019)]
    assert chosen(arb().ais_arbitrate(beaten, ctx()), beaten) == [0, 1]
    not_beaten = [*legs, sig("x", "BBB/USD", LONG, 1.0, 0.021)]
    assert chosen(arb().ais_arbitrate(not_beaten, ctx()), not_beaten) == [2]


def test_one_ineligible_leg_sinks_the_group() -> None:
    legs = [sig("pairs", "AAA/USD", LONG, 0.9, 0.02, group="p"),
            sig("pairs", "BBB/USD", SHORT, 0.4, 0.02, group="p")]
    assert arb().ais_arbitrate(legs, ctx()) == legs
    assert arb(min_confidence=0.5).ais_arbitrate(legs, ctx()) == []
    zeroed = arb(regime_weights={"pairs": {"trending_down": 0.0}})
    assert zeroed.ais_arbitrate(legs, ctx(regimes={"BBB/USD": "trending_down"})) == []


def test_overlapping_groups_take_a_symbol_once() -> None:
    strong = pair(label="p1", er=0.03, symbols=("AAA/USD", "BBB/USD"))
    weak = pair(label="p2", er=0.02, symbols=("BBB/USD", "CCC/USD"))
    given = [*weak, *strong]
    assert chosen(arb().ais_arbitrate(given, ctx()), given) == [2, 3]
    # With only a single on CCC the weak pair still cannot take BBB, and the single keeps CCC.
    given = [*weak, *strong, sig("c", "CCC/USD", LONG, 0.1, 0.01)]
    assert chosen(arb().ais_arbitrate(given, ctx()), given) == [2, 3, 4]


def test_same_group_label_from_two_agents_is_two_groups() -> None:
    ours = pair(agent="pairs_a", label="spread", er=0.03)
    theirs = pair(agent="pairs_b", label="spread", er=0.02)
    given = [*theirs, *ours]
    assert chosen(arb().ais_arbitrate(given, ctx()), given) == [2, 3]


# -- determinism and identity -----------------------------------------------------------------------

def test_ties_go_to_the_agent_name_first_whatever_the_order() -> None:
    a = sig("alpha", "AAA/USD", LONG, 0.5, 0.02)
    b = sig("beta", "AAA/USD", SHORT, 0.5, 0.02)
    for given in ([a, b], [b, a]):
        assert arb().ais_arbitrate(given, ctx())[0] is a
    g1, g2 = pair(agent="z", label="b"), pair(agent="z", label="a")
    for given in ([*g1, *g2], [*g2, *g1]):
        assert set(map(id, arb().ais_arbitrate(given, ctx()))) == set(map(id, g2))


def test_selection_does_not_depend_on_input_order() -> None:
    rng = random.Random(11)
    symbols = ["AAA/USD", "BBB/USD", "CCC/USD", "DDD/USD"]
    given = [
        sig(agent, symbol, rng.choice([LONG, SHORT, FLAT]), round(rng.random(), 2),
            round(rng.uniform(-0.01, 0.03), 3), round(rng.uniform(0.2, 1.0), 2))
        for agent, symbol in itertools.product(["a", "b", "c"], symbols)
    ] + pair(er=0.05) + pair(label="p2", symbols=("CCC/USD", "DDD/USD"), er=0.001)
    context = ctx({"a": 1.0, "b": 0.7, "c": 1.3}, {"AAA/USD": "ranging"})
    arbitration = arb(min_confidence=0.2, regime_weights={"b": {"ranging": 0.0}})
    expected = {id(s) for s in arbitration.ais_arbitrate(given, context)}
    assert expected
    for _ in range(30):
        shuffled = given[:]
        rng.shuffle(shuffled)
        result = arbitration.ais_arbitrate(shuffled, context)
        assert {id(s) for s in result} == expected
        assert [shuffled.index(s) for s in result] == sorted(shuffled.index(s) for s in result)  # input order
        singles = [s.symbol for s in result if s.group is None]
        assert len(set(singles)) == len(singles)
        assert len({s.symbol for s in result}) == len(result)


def test_through_the_host_returns_the_same_objects() -> None:
    given = [sig("a", "AAA/USD", LONG, 0.9), sig("b", "AAA/USD", SHORT, 0.2)]
    host = host_with(("arbitration", arb()))
    [winner] = host.arbitrate(given, ctx())
    assert winner is given[0]


def test_a_lone_signal_is_judged_as_in_a_contest() -> None:
    """One signal takes a shortcut (nothing to compare): the same answer as among other symbols'."""
    context = ctx({"a": 0.7}, {"AAA/USD": "ranging"})
    arbitration = arb(min_confidence=0.3, regime_weights={"a": {"ranging": 0.5}, "b": {"ranging": 0.0}})
    other = sig("c", "ZZZ/USD", LONG, 0.9)
    cases = [
        sig("a", "AAA/USD", LONG, 0.5),
        sig("a", "AAA/USD", FLAT, 0.5, er=0.0),
        sig("a", "AAA/USD", LONG, 0.29),  # below min_confidence
        sig("a", "AAA/USD", SHORT, 0.5, er=-0.01),  # not worth acting on
        sig("b", "AAA/USD", LONG, 0.9),  # scaled to 0 in this regime
        sig("a", "AAA/USD", LONG, 0.5, er=float("nan")),
    ]
    for lone in cases:
        alone = arbitration.ais_arbitrate([lone], context)
        among = [s for s in arbitration.ais_arbitrate([lone, other], context) if s is not other]
        assert alone == among and all(s is lone for s in alone), lone
    assert arbitration.ais_arbitrate([cases[0]], context) == [cases[0]]
