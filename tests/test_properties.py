"""Property-based tests (hypothesis): every text form and every YAML config either works or is refused
with one line, exit code 2 and no traceback; what works is finite and within its documented range."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdx.budgets import parse_budget, parse_budgets
from hdx.cli.main import main
from hdx.config import load_config
from hdx.errors import HDXError
from hdx.search.config import SearchConfig
from hdx.space.accelerator import BOUNDS, DATAFLOWS, PAD_BOUNDS, Accelerator, AcceleratorSpaceConfig
from hdx.space.network import NetworkSpace, NetworkSpaceConfig

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
SPACE = NetworkSpace.load("dance_cifar10")
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CLI_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["nan", "inf", "-inf", "1e999", "1e-320", "0", "-0", "00012", "1_000", "0x10", "١٦", ".5", "5."]
    ),
)
units = st.sampled_from(
    [
        "ms",
        "s",
        "us",
        "µs",
        "ns",
        "mJ",
        "mj",
        "MJ",
        "uJ",
        "J",
        "pJ",
        "mm2",
        "mm²",
        "um2",
        "",
        "W",
        "x",
        "ms:soft",
        ":hard",
        "mm2:medium",
    ]
)
metrics = st.sampled_from(["latency", "energy", "area", "LATENCY", "power", "", "lat ency"])
ops = st.sampled_from(["<=", "<", "≤", "=", ">=", "", "=<"])
budget_texts = st.one_of(
    st.builds(lambda m, o, n, u: f"{m}{o}{n}{u}", metrics, ops, numbers, units), st.text(max_size=40)
)
accel_texts = st.one_of(
    st.builds(
        lambda x, y, rf, df, glb: f"{x}x{y},rf={rf},df={df}" + (f",glb={glb}" if glb else ""),
        numbers,
        numbers,
        numbers,
        st.sampled_from([*DATAFLOWS, "WS", "xs", ""]),
        st.one_of(st.none(), numbers),
    ),
    st.builds(  # storage per operand
        lambda x, y, w, i, o, df: f"{x}x{y},pads={w}/{i}/{o},df={df}", numbers, numbers, numbers, numbers,
        numbers, st.sampled_from([*DATAFLOWS, "rs,rf=8", ""])),
    st.text(max_size=60),
)
arch_texts = st.one_of(
    st.lists(
        st.sampled_from(
            [*SPACE.op_names, "mb9e9", "mb4e3", "mb99999999999e3", "MB5E3", " zero ", "", "conv"]
        ),
        min_size=0,
        max_size=12,
    ).map(",".join),
    st.text(max_size=80),
)


def _run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue()


def _refused_cleanly(rc: int, out: str, err: str) -> None:
    assert "Traceback" not in err + out
    if rc != 0:
        assert rc == 2, (rc, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err


# ----- budgets --------------------------------------------------------------------------------------------
@SETTINGS
@given(budget_texts)
def test_budget_text_parses_to_a_finite_positive_limit_or_one_line_error(text):
    try:
        b = parse_budget(text)
    except HDXError:  # the CLI prints it as one line (tests below)
        return
    assert math.isfinite(b.limit) and b.limit > 0 and parse_budget(b.text()).metric == b.metric


@SETTINGS
@given(st.lists(budget_texts, max_size=3).map(",".join))
def test_cost_limits_parse_or_refuse(text):
    try:
        budgets = parse_budgets(text)
    except HDXError:  # the CLI prints it as one line (tests below)
        return
    assert all(math.isfinite(b.limit) and b.limit > 0 for b in budgets)
    assert len({(b.metric, b.kind) for b in budgets}) == len(budgets)


# ----- accelerators ---------------------------------------------------------------------------------------
@SETTINGS
@given(accel_texts)
def test_accelerator_text_is_in_range_or_one_line_error(text):
    try:
        a = Accelerator.parse(text)
    except HDXError:  # the CLI prints it as one line (tests below)
        return
    for f, (lo, hi) in BOUNDS.items():
        assert lo <= getattr(a, f) <= hi
    if a.pads is not None:
        assert all(PAD_BOUNDS[0] <= v <= PAD_BOUNDS[1] for v in a.pads) and a.rf_bytes == sum(a.pads) > 0
    assert Accelerator.parse(a.text(with_glb=True)) == a


# ----- architectures --------------------------------------------------------------------------------------
@SETTINGS
@given(arch_texts)
def test_arch_text_is_valid_or_one_line_error(text):
    try:
        arch = SPACE.parse_arch(text)
    except HDXError:  # the CLI prints it as one line (tests below)
        return
    assert 0 < SPACE.macs(arch) < 2**63


# ----- the CLI on the same text forms ---------------------------------------------------------------------
@CLI_SETTINGS
@given(accel_texts, arch_texts)
def test_hdx_cost_accel_and_arch_exit_0_or_2_with_one_line(accel, arch):
    rc, out, err = _run_cli(["cost", "--arch", arch, "--accel", accel, "--json"])
    _refused_cleanly(rc, out, err)
    if rc == 0:
        assert "NaN" not in out and "Infinity" not in out


@CLI_SETTINGS
@given(st.lists(budget_texts, min_size=1, max_size=2).map(",".join))
def test_hdx_cost_budget_exit_0_or_2_with_one_line(budget):
    rc, out, err = _run_cli(["cost", "--arch", ARCH, "--budget", budget, "--json"])
    _refused_cleanly(rc, out, err)


@CLI_SETTINGS
@given(st.lists(budget_texts, min_size=1, max_size=2))
def test_hdx_search_budget_refused_before_any_work_or_accepted(tmp_path_factory, monkeypatch, budgets):
    started = []
    monkeypatch.setattr("hdx.search.loop.run_search", lambda *a, **k: started.append(1) or _Stop.raise_())
    out = tmp_path_factory.mktemp("run") / "r"
    args = ["search", "--out", str(out)]
    for b in budgets:
        args += ["--budget", b]
    try:
        rc, o, err = _run_cli(args)
    except _Stop:
        return  # every check passed and the search would start
    _refused_cleanly(rc, o, err)
    assert rc == 2 and not started


class _Stop(Exception):
    @classmethod
    def raise_(cls):
        raise cls


# ----- YAML configs ---------------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)),
    max_leaves=8,
)


def _mutate(base: dict, keys: list[str]):
    return st.fixed_dictionaries({}, optional={k: values for k in keys}).map(lambda d: {**base, **d})


SEARCH_BASE = SearchConfig().model_dump(mode="json")
ACCEL_BASE = {
    "name": "g",
    "knobs": {"pe_x": [8, 16], "pe_y": [8], "rf_bytes": [16], "dataflow": ["ws"]},
    "hardware": {"clock_mhz": 200, "word_bits": 16, "glb_words_per_cycle": 32, "dram_bytes_per_cycle": 16},
}
SPACE_BASE = NetworkSpace.load("dance_cifar10").config.model_dump(mode="json")


@SETTINGS
@given(_mutate(SEARCH_BASE, sorted(SEARCH_BASE)))
def test_search_yaml_is_valid_and_finite_or_one_line_error(tmp_path_factory, data):
    _check_yaml(tmp_path_factory, SearchConfig, data, "search")


@SETTINGS
@given(
    st.one_of(
        _mutate(ACCEL_BASE, ["name", "knobs", "hardware"]),
        st.fixed_dictionaries({"pe_x": values, "clock_mhz": values, "dram_bytes_per_cycle": values}).map(
            lambda d: {
                **ACCEL_BASE,
                "knobs": {**ACCEL_BASE["knobs"], "pe_x": d["pe_x"]},
                "hardware": {
                    **ACCEL_BASE["hardware"],
                    "clock_mhz": d["clock_mhz"],
                    "dram_bytes_per_cycle": d["dram_bytes_per_cycle"],
                },
            }
        ),
    )
)
def test_accelerator_yaml_is_physical_or_one_line_error(tmp_path_factory, data):
    cfg = _check_yaml(tmp_path_factory, AcceleratorSpaceConfig, data, "accelerator")
    if cfg is not None:
        hw = cfg.hardware
        assert 1 <= hw.clock_mhz <= 10_000 and 1 <= hw.word_bits <= 64
        assert all(BOUNDS["pe_x"][0] <= v <= BOUNDS["pe_x"][1] for v in cfg.knobs.pe_x)


@SETTINGS
@given(
    st.one_of(
        _mutate(SPACE_BASE, sorted(SPACE_BASE)),
        st.fixed_dictionaries({"channels": values, "resolution": values, "depth": values}).map(
            lambda d: {
                **SPACE_BASE,
                "resolution": d["resolution"],
                "stages": [
                    {**SPACE_BASE["stages"][0], "channels": d["channels"], "depth": d["depth"]},
                    *SPACE_BASE["stages"][1:],
                ],
            }
        ),
    )
)
def test_space_yaml_gives_bounded_workloads_or_one_line_error(tmp_path_factory, data):
    cfg = _check_yaml(tmp_path_factory, NetworkSpaceConfig, data, "network")
    if cfg is not None:
        try:
            space = NetworkSpace(cfg)
            arch = [p.ops[0] for p in space.positions]
            assert 0 < space.macs(arch) < 2**63
        except HDXError:  # e.g. a layer above the per-layer MAC bound
            pass


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_as_a_config_file_are_a_config_or_one_line_error(tmp_path_factory, raw):
    p = tmp_path_factory.mktemp("cfg") / "c.yaml"
    p.write_bytes(raw)
    with contextlib.suppress(HDXError):
        load_config(SearchConfig, p, "search")


def _check_yaml(tmp_path_factory, model, data, kind):
    p = tmp_path_factory.mktemp("cfg") / "c.yaml"
    try:
        p.write_text(yaml.safe_dump(data))
    except (yaml.YAMLError, UnicodeEncodeError):  # e.g. lone surrogates: not a YAML file anyone can write
        return None
    try:
        cfg = load_config(model, p, kind)
    except HDXError:  # the CLI prints it as one line (tests below)
        return None
    for v in cfg.model_dump().values():
        if isinstance(v, float):
            assert math.isfinite(v)
    return cfg


@pytest.mark.parametrize(
    "text", ["latency<=2ms", "energy<=0.5mJ", "energy<=0.5mj", "area<=2MM2", "latency<1.5e0s"]
)
def test_known_good_budgets_still_parse(text):
    assert parse_budget(text).limit > 0
