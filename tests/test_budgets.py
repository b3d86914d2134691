"""Budget parsing: units, suffixes, every kind of bad input."""

from __future__ import annotations

import pytest

from hdx.budgets import Budget, parse_budget, parse_budgets
from hdx.errors import HDXError


@pytest.mark.parametrize("text,metric,limit,kind", [
    ("latency<=16.6ms", "latency", 16.6, "hard"),
    ("latency <= 0.0166 s", "latency", 16.6, "hard"),
    ("latency<=16600us", "latency", 16.6, "hard"),
    ("latency<16.6ms:soft", "latency", 16.6, "soft"),
    ("LATENCY<=2e1ms:HARD", "latency", 20.0, "hard"),
    ("energy<=1.5mJ", "energy", 1.5, "hard"),
    ("energy<=1500uJ", "energy", 1.5, "hard"),
    ("energy<=0.0015J", "energy", 1.5, "hard"),
    ("energy<=1.5e9pJ:soft", "energy", 1.5, "soft"),
    ("area<=2mm2", "area", 2.0, "hard"),
    ("area<=2000000um2", "area", 2.0, "hard"),
    ("area<=.5mm²", "area", 0.5, "hard"),
    # one grammar with `hdx cost`: '=' means '<=', no unit means the canonical unit (ms, mJ, mm2)
    ("latency<=16.6", "latency", 16.6, "hard"),
    ("latency=16ms", "latency", 16.0, "hard"),
    ("energy=0.8", "energy", 0.8, "hard"),
    ("area = 1.5:soft", "area", 1.5, "soft"),
])
def test_parse_valid(text, metric, limit, kind):
    b = parse_budget(text)
    assert b.metric == metric and b.kind == kind
    assert b.limit == pytest.approx(limit, rel=1e-12)
    assert parse_budget(b.text()) == b  # canonical text round-trips


@pytest.mark.parametrize("text,needle", [
    ("", "empty"),
    ("   ", "empty"),
    ("latency", "malformed"),
    ("latency<=ms", "malformed"),
    ("latency>=16.6ms", "upper bounds"),
    ("latency==16ms", "malformed"),
    ("latency=>16ms", "upper bounds"),
    ("power<=3mW", "unknown metric"),
    ("latency<=3mm2", "unit of area"),
    ("area<=3ms", "unit of latency"),
    ("energy<=2mm2", "unit of area"),
    ("latency<=3parsecs", "unknown unit"),
    ("latency<=0ms", "positive"),
    ("latency<=-1ms", "positive"),
    ("latency<=16ms:maybe", "suffix"),
    ("latency<=16ms extra", "malformed"),
    ("latency<=1e999ms", "positive"),
])
def test_parse_invalid_one_line(text, needle):
    with pytest.raises(HDXError) as e:
        parse_budget(text)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_several_and_duplicates():
    bs = parse_budgets(["latency<=10ms", "area<=2mm2", "latency<=12ms:soft"])
    assert [b.key for b in bs] == ["latency", "area", "latency_soft"]
    with pytest.raises(HDXError, match="two hard budgets on latency"):
        parse_budgets(["latency<=10ms", "latency<=5ms"])
    # several in one text (hdx cost --budget latency=2,area=1.5), mixed with separate texts
    bs = parse_budgets(["latency=2,area=1.5", "energy<=800uJ"])
    assert [(b.metric, b.limit) for b in bs] == [("latency", 2.0), ("area", 1.5), ("energy", 0.8)]
    assert parse_budgets("latency<=2ms, energy<=0.8mJ:soft")[1].kind == "soft"
    assert parse_budgets(None) == [] and parse_budgets([]) == []
    with pytest.raises(HDXError, match="two hard budgets on area"):
        parse_budgets("area=1,area=2")


def test_slack_and_met():
    b = Budget("latency", 10.0)
    assert b.met(10.0) and not b.met(10.0001)
    assert b.slack(8.0) == pytest.approx(0.2) and b.slack(12.0) == pytest.approx(-0.2)
    with pytest.raises(HDXError):
        Budget("latency", float("nan"))
