"""ais.toml validation: every error is one line naming the file and the dotted key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ais.config.loader import check_capabilities, load_config, validate_options
from ais.config.secrets import Secret
from ais.errors import ConfigError, SecretError
from ais.plugins.base import PluginConfig

BASE = """
[ais]
mode = "paper"
symbols = ["ETH/BTC"]

[data.market]
plugin = "replay"

[agents.fast]
plugin = "momentum"
fast = 5

[arbitration.weighted]

[guards.cap]
plugin = "max_order_notional"

[exchanges.paper]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ais.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_valid_config_loads_in_order(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.ais.mode == "paper"
    assert config.store.path == "ais-events.sqlite"  # default filled
    assert [s.key for s in config.all_enabled()] == [
        "data.market",
        "agents.fast",
        "arbitration.weighted",
        "guards.cap",
        "exchanges.paper",
    ]
    fast = config.enabled("agents")[0]
    assert (fast.plugin, fast.weight, dict(fast.options)) == ("momentum", 1.0, {"fast": 5})
    assert config.enabled("arbitration")[0].plugin == "weighted"  # plugin defaults to the instance name
    check_capabilities(config)


def test_malformed_toml_reports_line_and_column(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE + "\n[broken\n")
    assert message.startswith(f"{tmp_path / 'ais.toml'}: invalid TOML")
    assert "line 20" in message and "column" in message


def test_unknown_section_did_you_mean(tmp_path: Path) -> None:
    assert error_of(tmp_path, BASE + "[gaurds.x]\n").endswith(
        "gaurds: unknown section (did you mean 'guards'?)"
    )


def test_unknown_core_key_did_you_mean(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace('mode = "paper"', 'mode = "paper"\nsymbol = ["X"]'))
    assert message.endswith("ais.symbol: unknown key (did you mean 'symbols'?)")


def test_wrong_type(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE + '[portfolio]\ninitial_cash = "lots"\n')
    assert message.endswith('portfolio.initial_cash: must be a number (got "lots")')


def test_out_of_range(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE + "[risk]\ntoken_ttl = -3\n")
    assert message.endswith("risk.token_ttl: must be an integer > 0 (got -3)")


def test_bad_mode_and_timezone(tmp_path: Path) -> None:
    assert "ais.mode: must be one of" in error_of(tmp_path, BASE.replace('"paper"', '"papr"'))
    message = error_of(tmp_path, BASE.replace('mode = "paper"', 'timezone = "Mars/Base"'))
    assert "ais.timezone: unknown timezone 'Mars/Base'" in message


def test_missing_required(tmp_path: Path) -> None:
    assert error_of(tmp_path, '[ais]\nmode = "paper"\n').endswith("ais.symbols: is required")
    assert "ais: section is required" in error_of(tmp_path, "[store]\n")


def test_instance_common_keys_validated(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace("fast = 5", "fast = 5\nweight = -1"))
    assert message.endswith("agents.fast.weight: must be a number >= 0 (got -1)")


class LookbackConfig(PluginConfig):
    from pydantic import Field as _F

    lookback: int = _F(10, gt=0)
    api_key: Secret | None = None


def test_plugin_options_error_names_instance_path(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE.replace("fast = 5", "lookback = -3")))
    with pytest.raises(ConfigError) as err:
        validate_options(config, config.enabled("agents")[0], LookbackConfig)
    assert str(err.value).endswith("agents.fast.lookback: must be an integer > 0 (got -3)")


def test_plugin_unknown_key_did_you_mean(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE.replace("fast = 5", "lookbak = 3")))
    with pytest.raises(ConfigError) as err:
        validate_options(config, config.enabled("agents")[0], LookbackConfig)
    assert str(err.value).endswith("agents.fast.lookbak: unknown key (did you mean 'lookback'?)")


def test_literal_secret_refused(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE.replace("fast = 5", 'api_key = "hunter2"')))
    with pytest.raises(ConfigError) as err:
        validate_options(config, config.enabled("agents")[0], LookbackConfig)
    message = str(err.value)
    assert "agents.fast.api_key: must be a secret reference" in message
    assert "hunter2" not in message


def test_secret_reference_resolves_and_redacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "key.txt"
    secret_file.write_text("from-file\n")
    model = LookbackConfig.model_validate({"api_key": {"file": str(secret_file)}})
    assert model.api_key is not None and model.api_key.reveal() == "from-file"
    dumped = str(model.model_dump(mode="json"))
    assert "from-file" not in dumped and "redacted" in dumped
    env_model = LookbackConfig.model_validate({"api_key": {"env": "AIS_TEST_KEY"}})
    monkeypatch.delenv("AIS_TEST_KEY", raising=False)
    with pytest.raises(SecretError, match="AIS_TEST_KEY"):
        env_model.api_key.reveal()  # type: ignore[union-attr]
    monkeypatch.setenv("AIS_TEST_KEY", "from-env")
    assert env_model.api_key.reveal() == "from-env"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('[data.market]\nplugin = "replay"\n', ""), "enable at least one data provider"),
        (lambda t: t.replace("[exchanges.paper]\n", ""), "enable at least one exchange"),
        (lambda t: t + "[arbitration.other]\n", "exactly one arbitration instance"),
        (
            lambda t: t.replace('[guards.cap]\nplugin = "max_order_notional"\n', ""),
            "needs at least one enabled guard",
        ),
        (lambda t: t + '[routing]\nsymbols = { "ETH/BTC" = "papr" }\n', "did you mean 'paper'?"),
    ],
)
def test_capabilities(tmp_path: Path, edit: object, expected: str) -> None:
    config = load_config(write(tmp_path, edit(BASE)))  # type: ignore[operator]
    with pytest.raises(ConfigError, match=expected):
        check_capabilities(config)


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ais.config.toml import config_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIS_CONFIG", raising=False)
    assert str(config_path()) == "ais.toml"
    monkeypatch.setenv("AIS_CONFIG", "/etc/ais.toml")
    assert str(config_path()) == "/etc/ais.toml"
    assert str(config_path("x.toml")) == "x.toml"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
