"""The [chain] table's backends and funders: what a scenario may say about the chain, and what it is refused."""
from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from cipherquorum import cli
from cipherquorum.chain.accounts import derive_private_key
from cipherquorum.exceptions import ScenarioError
from cipherquorum.settings.scenario import DEVNET_CHAIN_ID, ChainKind, Scenario, parse_scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOAD = Path(__file__).parents[2] / "scenarios" / "load.toml"
BASE: dict[str, Any] = tomllib.loads(LOAD.read_text(encoding="utf-8"))
URL = "http://127.0.0.1:8545"
KEY = "0x" + derive_private_key("settings-tests", "funder", 0).hex()
ENVIRON = {"CQ_FUNDER": KEY, "CQ_SHORT": "0x1234", "CQ_EMPTY": ""}


def scenario_with(chain: dict[str, Any], **tables: Any) -> Scenario:
    """scenarios/load.toml with ``chain`` merged into its [chain] table (and other tables replaced), read with
    ENVIRON as the environment."""
    document = copy.deepcopy(BASE)
    document["chain"].update(chain)
    document.update(tables)
    return parse_scenario(document, "chain.toml", environ=ENVIRON)


@pytest.mark.parametrize(("chain", "kind", "funded_by_run"), [
    ({}, ChainKind.DEVNET, True),
    ({"backend": "devnet", "chain_id": DEVNET_CHAIN_ID}, ChainKind.DEVNET, True),
    ({"backend": "anvil"}, ChainKind.ANVIL, True),
    ({"backend": "anvil", "anvil_path": "/opt/foundry/anvil", "chain_id": 777}, ChainKind.ANVIL, True),
    ({"rpc_url": URL}, ChainKind.EXTERNAL, False),
    ({"rpc_url": URL, "fund_wei": 1}, ChainKind.EXTERNAL, False),  # accounts funded by hand: no funding rule
    ({"rpc_url": URL, "chain_id": 31337, "funder": "node"}, ChainKind.EXTERNAL, True),
    ({"rpc_url": URL, "funder_key": KEY}, ChainKind.EXTERNAL, True),
    ({"rpc_url": URL, "funder_key": KEY[2:]}, ChainKind.EXTERNAL, True),
    ({"rpc_url": URL, "funder_key_env": "CQ_FUNDER"}, ChainKind.EXTERNAL, True),
])
def test_a_chain_table_names_the_chain_and_whether_the_run_funds_it(chain: dict[str, Any], kind: ChainKind,
                                                                    funded_by_run: bool) -> None:
    """Each accepted [chain] table gives its kind of chain, and whether the run funds the accounts itself."""
    scenario = scenario_with(chain)
    assert scenario.chain.kind is kind
    assert scenario.chain.embedded is (kind is ChainKind.DEVNET)
    assert scenario.chain.funded_by_run is funded_by_run
    assert KEY[2:] not in repr(scenario)


@pytest.mark.parametrize(("chain", "field", "fragment"), [
    ({"backend": "geth"}, "chain.backend", "must be one of devnet, anvil (got 'geth')"),
    ({"rpc_url": URL, "backend": "anvil"}, "chain.backend", "names a chain the run starts"),
    ({"rpc_url": URL, "backend": "devnet"}, "chain.backend", "set one of them"),
    ({"anvil_path": "/opt/anvil"}, "chain.anvil_path", 'is read only with backend = "anvil"'),
    ({"rpc_url": URL, "anvil_path": "/opt/anvil"}, "chain.anvil_path", "for the external chain"),
    ({"backend": "anvil", "anvil_path": "/opt/\x00anvil"}, "chain.anvil_path", "NUL"),
    ({"backend": "anvil", "chain_id": 0}, "chain.chain_id", "must be >= 1 (got 0)"),
    ({"backend": "anvil", "chain_id": 2**64}, "chain.chain_id", "must be <= 18446744073709551615"),
    ({"backend": "anvil", "chain_id": "31337"}, "chain.chain_id", "must be an integer"),
    ({"chain_id": 31337}, "chain.chain_id", f"the embedded devnet's chain id is {DEVNET_CHAIN_ID}"),
    ({"funder": "node"}, "chain.funder", "needs chain.rpc_url: the devnet chain"),
    ({"backend": "anvil", "funder_key": KEY}, "chain.funder_key", "needs chain.rpc_url: the anvil chain"),
    ({"rpc_url": URL, "funder": "alice"}, "chain.funder", 'must be "node"'),
    ({"rpc_url": URL, "funder": "node", "funder_key": KEY}, "chain.funder_key", "name one funder"),
    ({"rpc_url": URL, "funder_key": KEY, "funder_key_env": "CQ_FUNDER"}, "chain.funder_key_env", "name one funder"),
    ({"rpc_url": URL, "funder_key": "0x1234"}, "chain.funder_key", "got 4 characters; not shown"),
    ({"rpc_url": URL, "funder_key": "0x" + "g" * 64}, "chain.funder_key", "a character that is not hex"),
    ({"rpc_url": URL, "funder_key": "0" * 64}, "chain.funder_key", "secp256k1's order"),
    ({"rpc_url": URL, "funder_key": "f" * 64}, "chain.funder_key", "secp256k1's order"),
    ({"rpc_url": URL, "funder_key": int(KEY, 16)}, "chain.funder_key", "another type; not shown"),
    ({"rpc_url": URL, "funder_key_env": "1ST"}, "chain.funder_key_env", "an environment variable's name"),
    ({"rpc_url": URL, "funder_key_env": "CQ_UNSET"}, "chain.funder_key_env", "CQ_UNSET is not set"),
    ({"rpc_url": URL, "funder_key_env": "CQ_SHORT"}, "chain.funder_key_env", "CQ_SHORT must be 64 hex digits"),
    ({"rpc_url": URL, "funder_key_env": "CQ_EMPTY"}, "chain.funder_key_env", "got 0 characters"),
    ({"backend": "anvil", "fund_wei": "1 ether"}, "chain.fund_wei", "must pay nodes[0]'s stake"),
    ({"rpc_url": URL, "funder": "node", "fund_wei": "1 ether"}, "chain.fund_wei", "must pay nodes[0]'s stake"),
])
def test_a_chain_table_that_a_run_would_refuse_is_refused_when_it_is_read(chain: dict[str, Any], field: str,
                                                                          fragment: str) -> None:
    """Each refused [chain] table names its field and the rule, and never shows a funder key."""
    with pytest.raises(ScenarioError) as caught:
        scenario_with(chain)
    message = str(caught.value)
    assert f"chain.toml: {field}: " in message
    assert fragment in message
    for shown in (KEY[2:], str(int(KEY, 16)), "f" * 64):
        assert shown not in message


def test_a_client_that_cannot_pay_its_escrows_is_refused_on_anvil_too() -> None:
    """The escrow rule of the devnet holds on anvil (whose balances are set) and for an external funder, not only
    on the devnet; the devnet's funder cap holds on the devnet alone."""
    load_market = {**BASE["market"], "reward_per_node_wei": "50000 ether"}  # 3 x 50,000 > fund_wei 100,000
    for chain in ({"backend": "anvil"}, {"rpc_url": URL, "funder": "node"}):
        with pytest.raises(ScenarioError, match=r"chain\.fund_wei: must pay client 0's escrow"):
            scenario_with(chain, market=load_market)
    rich = {"fund_wei": str(10**9) + " ether"}  # past what the devnet's funders hold for 7 accounts
    with pytest.raises(ScenarioError, match="the embedded devnet's 10 funders"):
        scenario_with(rich)
    assert scenario_with({"backend": "anvil", **rich}).chain.fund_wei == 10**27


def test_the_devnet_chain_id_the_settings_assume_is_the_devnets_own() -> None:
    """DEVNET_CHAIN_ID, which chain.chain_id must equal on the devnet, is what the devnet serves."""
    from cipherquorum.devnet import Devnet

    assert Devnet().chain_id == DEVNET_CHAIN_ID


def test_validate_refuses_a_funder_key_variable_that_is_not_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`cipherquorum validate` reads the environment as `run` does: an unset funder_key_env exits 2; once the
    variable holds a key, validate goes on to the chain as run would, and no chain answers at the URL here."""
    path = tmp_path / "funded.toml"
    text = LOAD.read_text(encoding="utf-8").replace("[chain]\n", f'[chain]\nrpc_url = "{URL}"\n'
                                                                 'funder_key_env = "CQ_VALIDATE_KEY"\n')
    path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("CQ_VALIDATE_KEY", raising=False)
    assert cli.main(["validate", str(path)]) == cli.EXIT_BAD_INPUT
    assert "CQ_VALIDATE_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("CQ_VALIDATE_KEY", KEY)
    assert cli.main(["validate", str(path)]) == cli.EXIT_FAILED
    assert "ChainUnavailable" in capsys.readouterr().err
