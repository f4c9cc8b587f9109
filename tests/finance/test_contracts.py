"""The contracts TOML: the documented example parses; faults name contract, component, field."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from wholesystem.finance.contracts import (
    CONTRACTS_FORMAT,
    ContractsError,
    Direction,
    FixedPayment,
    GainLossPool,
    GainLossShare,
    PooledBudget,
    PoolKey,
    QualityIncentive,
    ShareBand,
    VariableActivity,
    load_contracts,
    parse_contracts,
)

D = Decimal
DOC = Path(__file__).parents[2] / "docs" / "contracts.md"


def doc_block(kind: str) -> str:
    """The first fenced block of ``kind`` in docs/contracts.md."""
    blocks = re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return str(blocks[0])


def test_the_documented_example_parses() -> None:
    contracts = parse_contracts(doc_block("toml")).contracts
    assert [c.id for c in contracts] == [
        "RN1-ACUTE-2024",
        "QNS-RN1-UEC-SHARE",
        "NORTHPORT-BCF",
        "QNS-SYSTEM-POOL",
    ]
    acute = contracts[0]
    assert (acute.commissioner, acute.provider) == ("QNS", "RN1")
    assert acute.components[0] == FixedPayment("emergency-fixed", D(15_000_000))
    assert acute.components[1] == VariableActivity(
        "emergency", "emergency_spells", D(1500), D(10000), D("0.20"), D("0.20")
    )
    quality = acute.components[4]
    assert isinstance(quality, QualityIncentive)
    assert quality.share == D("0.0125")
    assert [(i.line, i.weight) for i in quality.indicators] == [
        ("cquin_flu", D("0.5")),
        ("cquin_sepsis", D("0.5")),
    ]
    share = contracts[1].components[0]
    assert share == GainLossShare(
        "uec-share",
        "uec_spend",
        D(40_000_000),
        (ShareBand(D(0), D("0.01"), D(0)), ShareBand(D("0.01"), None, D("0.5"))),
        D(0),
        D(1_000_000),
        Direction.TWO_SIDED,
    )
    pool = contracts[2].components[0]
    assert isinstance(pool, PooledBudget)
    assert contracts[2].commissioner is None
    assert [(c.party, c.amount) for c in pool.contributions] == [
        ("QNS", D(6_000_000)),
        ("E06000901", D(4_000_000)),
    ]
    assert pool.key is None
    assert pool.tolerance == D("0.05")
    system = contracts[3].components[0]
    assert isinstance(system, GainLossPool)
    assert system.key is PoolKey.BUDGET_SHARE
    assert [p.party for p in system.partners] == ["QNS", "RN1", "RX2", "E06000901"]


def test_the_documented_bands_parse() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    bands = next(b for b in blocks if b.lstrip().startswith("bands"))
    text = wrap("type = 'gain_loss_share'\nbenchmark = 1000\n" + bands)
    component = parse_contracts(text).contracts[0].components[0]
    assert isinstance(component, GainLossShare)
    assert component.bands == (
        ShareBand(D(0), D("0.02"), D(0)),
        ShareBand(D("0.02"), D("0.05"), D("0.5")),
        ShareBand(D("0.05"), None, D("0.25")),
    )


def wrap(component: str, contract: str = 'commissioner = "QNS"\nprovider = "RN1"') -> str:
    return (
        f'format = "{CONTRACTS_FORMAT}"\n[[contracts]]\nid = "C1"\n{contract}\n'
        f'[[contracts.components]]\nid = "X"\n{component}\n'
    )


VARIABLE = 'type = "variable"\nunit_price = 1500\nplanned_units = 10000\n'


def test_numbers_are_read_exactly_and_may_be_quoted() -> None:
    text = wrap(VARIABLE + 'rate_above = 0.1\nrate_below = "0.30"\nline = "spells"')
    component = parse_contracts(text).contracts[0].components[0]
    assert isinstance(component, VariableActivity)
    assert component.rate_above == D("0.1")  # not 0.1000000000000000055...
    assert component.rate_below == D("0.30")
    assert component.line == "spells"


def test_line_defaults_to_the_component_id() -> None:
    component = parse_contracts(wrap(VARIABLE + "rate_above = 0\nrate_below = 0")).contracts[0]
    assert isinstance(component.components[0], VariableActivity)
    assert component.components[0].line == "X"


def test_first_pound_corridor() -> None:
    text = wrap(
        'type = "gain_loss_share"\nbenchmark = 100\nshare_rate = 0.5\ncorridor = 0.02\n'
        'corridor_basis = "first_pound"\ndirection = "upside_only"'
    )
    component = parse_contracts(text).contracts[0].components[0]
    assert isinstance(component, GainLossShare)
    assert component.bands == (ShareBand(D(0), None, D("0.5")),)
    assert component.threshold == D("0.02")
    assert component.direction is Direction.UPSIDE_ONLY


@pytest.mark.parametrize(
    ("component", "field", "message"),
    [
        # a share above 1
        (VARIABLE + "rate_above = 1.2\nrate_below = 0.2", "rate_above", "at most 1, got 1.2"),
        (VARIABLE + "rate_above = -0.2\nrate_below = 0.2", "rate_above", "at least 0"),
        (VARIABLE + "rate_above = 0.2", "rate_below", "is required"),
        (
            VARIABLE + "rate_above = 0.2\nrate_below = 0.2\nrate_abvoe = 1",
            "rate_abvoe",
            "not a known",
        ),
        (
            VARIABLE + "rate_above = true\nrate_below = 0.2",
            "rate_above",
            "must be a number, got true",
        ),
        (
            VARIABLE + "rate_above = 'high'\nrate_below = 0.2",
            "rate_above",
            "must be a number, got 'high'",
        ),
        ('type = "fixed"\namount = 100.005', "amount", "fraction of a penny"),
        ('type = "fixed"\namount = -1', "amount", "at least 0"),
        ('type = "fixed"\namount = "£100"', "amount", "must be a number"),
        ('type = "block"\namount = 1', "type", "must be one of fixed, variable"),
        ("amount = 1", "type", "is required"),
        # quality
        ('type = "quality"\ncontract_value = 100\nshare = 1.25', "share", "at most 1"),
        (
            'type = "quality"\ncontract_value = 100\nshare = 0.01\n'
            'indicators = [{line = "a", weight = 0.5}, {line = "b", weight = 0.4}]',
            "indicators",
            "weights must sum to 1, they sum to 0.9",
        ),
        (
            'type = "quality"\ncontract_value = 100\nshare = 0.01\n'
            'indicators = [{line = "a", weight = 0.5}, {line = "a", weight = 0.5}]',
            "indicators[1].line",
            "listed twice",
        ),
        (
            'type = "quality"\ncontract_value = 100\nshare = 0.01\nline = "a"\n'
            'indicators = [{line = "a", weight = 1}]',
            "line",
            "either line or indicators",
        ),
        # gain/loss share
        ('type = "gain_loss_share"\nbenchmark = 0\nshare_rate = 0.5', "benchmark", "above 0"),
        ('type = "gain_loss_share"\nbenchmark = 10\nshare_rate = 1.5', "share_rate", "at most 1"),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nshare_rate = 0.5\ncorridor = 1',
            "corridor",
            "below 1",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nshare_rate = 0.5\ncap = -5',
            "cap",
            "at least 0",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nshare_rate = 0.5\ndirection = "downside"',
            "direction",
            "two_sided, upside_only",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nbands = ['
            "{from = 0, to = 0.05, share = 0}, {from = 0.03, share = 0.5}]",
            "bands[1].from",
            "overlaps bands[0] [0, 0.05)",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nbands = ['
            "{from = 0, to = 0.02, share = 0}, {from = 0.03, share = 0.5}]",
            "bands[1].from",
            "gap after bands[0], which ends at 0.02",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nbands = [{from = 0.01, share = 0.5}]',
            "bands[0].from",
            "must start at 0",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nbands = ['
            "{from = 0, share = 0}, {from = 0.03, share = 0.5}]",
            "bands[1].from",
            "no upper limit",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nbands = [{from = 0, to = 0.1, share = 1.1}]',
            "bands[0].share",
            "at most 1",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nbands = [{from = 0.1, to = 0.1, share = 1}]',
            "bands[0].to",
            "must be above from",
        ),
        (
            'type = "gain_loss_share"\nbenchmark = 10\nshare_rate = 0.5\n'
            "bands = [{from = 0, share = 1}]",
            "share_rate",
            "either bands or share_rate",
        ),
        # pooled budgets
        (
            'type = "pooled_budget"\ncontributions = {QNS = 60, LA1 = 40}\nshare_basis = "key"\n'
            "key = {QNS = 0.5, LA1 = 0.4}",
            "key",
            "weights must sum to 1, they sum to 0.9",
        ),
        (
            'type = "pooled_budget"\ncontributions = {QNS = 60, LA1 = 40}\nshare_basis = "key"\n'
            "key = {QNS = 0.5, LA2 = 0.5}",
            "key.LA2",
            "makes no contribution",
        ),
        (
            'type = "pooled_budget"\ncontributions = {QNS = 60, LA1 = 40}\n'
            "key = {QNS = 0.5, LA1 = 0.5}",
            "key",
            'only with share_basis = "key"',
        ),
        (
            'type = "pooled_budget"\ncontributions = {qns = 60}',
            "contributions.qns",
            "organisation code",
        ),
        ('type = "pooled_budget"\ncontributions = {QNS = 0}', "contributions", "more than 0"),
        ('type = "pooled_budget"\ncontributions = {}', "contributions", "at least one party"),
        (
            'type = "pooled_budget"\ncontributions = {QNS = 60}\ntolerance = 5',
            "tolerance",
            "at most 1",
        ),
        # gain/loss pools
        (
            'type = "gain_loss_pool"\nexpected_spend = 100\nkey = "custom"\n'
            "weights = {QNS = 0.5, RN1 = 0.3, RX2 = 0.1}",
            "weights",
            "weights must sum to 1, they sum to 0.9",
        ),
        (
            'type = "gain_loss_pool"\nexpected_spend = 100\npartners = ["QNS", "QNS"]',
            "partners[1]",
            "listed twice",
        ),
        (
            'type = "gain_loss_pool"\nexpected_spend = 100\npartners = ["QNS"]\n'
            "budgets = {QNS = 1}",
            "budgets",
            'not used with key = "equal"',
        ),
        (
            'type = "gain_loss_pool"\nexpected_spend = 100\npartners = []',
            "partners",
            "at least one",
        ),
        (
            'type = "gain_loss_pool"\nexpected_spend = 100\nkey = "budget_share"\n'
            "budgets = {QNS = 0}",
            "budgets",
            "more than 0",
        ),
    ],
)
def test_faults_name_the_contract_component_and_field(
    component: str, field: str, message: str
) -> None:
    with pytest.raises(ContractsError) as caught:
        parse_contracts(wrap(component), "contracts.toml")
    issues = caught.value.issues
    assert any(i.field == field and message in i.message for i in issues), [str(i) for i in issues]
    issue = next(i for i in issues if i.field == field)
    assert issue.contract == "C1"
    assert issue.component == "X"
    assert str(caught.value).startswith(f"contracts.toml: contract C1, component X, field {field}:")


@pytest.mark.parametrize(
    ("text", "contract", "field", "message"),
    [
        ("[[contracts]]\nid = 'C1'", None, "format", "is required"),
        ('format = "wholesystem-contracts/2"\ncontracts = []', None, "format", "must be"),
        (f'format = "{CONTRACTS_FORMAT}"\ncontracts = []', None, "contracts", "at least one"),
        (f'format = "{CONTRACTS_FORMAT}"\nextra = 1\ncontracts = []', None, "extra", "not a known"),
        ("format = [", None, "(file)", "not valid TOML"),
        (wrap('type = "fixed"\namount = 1', ""), "C1", "commissioner", "is required when"),
        (
            wrap('type = "fixed"\namount = 1', 'commissioner = "QNS"\nprovider = "QNS"'),
            "C1",
            "provider",
            "must differ from the commissioner",
        ),
        (
            wrap('type = "fixed"\namount = 1', 'commissioner = "QNS"\nprovider = "rn1"'),
            "C1",
            "provider",
            "organisation code",
        ),
        (
            f'format = "{CONTRACTS_FORMAT}"\n[[contracts]]\nid = "C1"\ncomponents = []',
            "C1",
            "components",
            "at least one component",
        ),
        (
            f'format = "{CONTRACTS_FORMAT}"\n[[contracts]]\nid = "has space"\ncomponents = []',
            "contracts[0]",
            "id",
            "not a valid identifier",
        ),
    ],
)
def test_file_and_contract_faults(
    text: str, contract: str | None, field: str, message: str
) -> None:
    with pytest.raises(ContractsError) as caught:
        parse_contracts(text)
    assert any(
        i.contract == contract and i.field == field and message in i.message
        for i in caught.value.issues
    ), [str(i) for i in caught.value.issues]


def test_duplicate_ids_are_refused() -> None:
    component = 'type = "fixed"\namount = 1'
    text = wrap(component) + f'[[contracts.components]]\nid = "X"\n{component}\n'
    with pytest.raises(ContractsError, match="component X, field id: 'X' is used by another"):
        parse_contracts(text)
    twice = wrap(component) + wrap(component).split("\n", 1)[1]
    with pytest.raises(ContractsError, match="contract C1, field id: is used by another contract"):
        parse_contracts(twice)


def test_every_fault_is_reported_at_once() -> None:
    text = wrap(VARIABLE + "rate_above = 1.2\nrate_below = 7") + (
        '[[contracts.components]]\nid = "Y"\ntype = "fixed"\namount = "lots"\n'
    )
    with pytest.raises(ContractsError) as caught:
        parse_contracts(text)
    located = {(i.component, i.field) for i in caught.value.issues}
    assert {("X", "rate_above"), ("X", "rate_below"), ("Y", "amount")} <= located


def test_load_contracts_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "contracts.toml"
    path.write_text(doc_block("toml"), encoding="utf-8")
    assert len(load_contracts(path).contracts) == 4
    with pytest.raises(ContractsError, match="cannot read"):
        load_contracts(tmp_path / "missing.toml")
