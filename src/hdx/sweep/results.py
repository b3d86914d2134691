"""Results of a sweep: one row per trial (``results.csv`` / ``results.json``) and a summary table.  Row
columns: ``trial``, ``status`` (``feasible``, ``infeasible``: finished with a hard budget missed,
``failed``, ``pending``), ``error``; one column per swept key (lists joined with ``;``); the derived
``arch`` and its ``accelerator`` (exhaustive ground-truth search under the hard budgets) with ground-
truth ``latency_ms``, ``energy_mJ``, ``area_mm2``, ``objective_value``; ``budgets`` (the trial's own) and
``verdicts`` (``budget:met|missed`` each); ``slacks`` (``budget:slack`` each, slack = ``(limit −
value)/limit`` on the ground truth) and ``slack`` (the smallest over the trial's hard budgets: the
binding one); for every judge budget B of the sweep (checked for trials without budgets of their own)
``judge[B]`` (met/missed), ``judge_value[B]`` (the metric on the EDAP-best accelerator meeting B; a
relative B such as ``latency<=p20`` is resolved on the trial's space, grid and cost model,
:mod:`hdx.cost.relative`) and ``judge_slack[B]``; the HDX budget fill (:mod:`hdx.search.fill`): ``fill``
(grow/off), ``fill_applied``, and the derived network before it (the published HDX result)
``unfilled_arch``, ``unfilled_latency_ms``, ``unfilled_slack``, ``unfilled_objective_value``,
``unfilled_val_acc``; ``val_acc``, ``test_acc`` (inherited supernet weights); ``retrained_acc`` (test
accuracy after a retrain from scratch, when one was recorded); ``wall_s`` (seconds of the call that
finished the trial).

Summary: rows grouped by variant (every swept key except ``seed`` and ``budgets``) × budget (the
trial's own budgets, met = every hard budget met; or each judge budget): met k/n, failed, median and
max slack of the trials meeting it, mean accuracy of the finished trials.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from hdx.sweep.spec import SweepSpec, Trial, axis_keys, axis_text
from hdx.sweep.trial import TRIAL_FILE

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"


def _read_json(p: Path) -> dict | None:
    from hdx.safeio import read_text

    if not p.is_file():
        return None
    try:
        d = json.loads(read_text(p, what="result file"))
    except (ValueError, Exception):  # noqa: BLE001 - a foreign or cut file counts as absent
        return None
    return d if isinstance(d, dict) else None


class _Judge:
    """Ground-truth tables per (space, accelerator space, cost backend), built once per sweep."""

    def __init__(self):
        self._cache: dict = {}

    def setup(self, cfg):
        from hdx.cost import get_cost_model
        from hdx.cost.relative import SpaceDistribution
        from hdx.cost.table import CostTable
        from hdx.space.accelerator import AcceleratorSpace
        from hdx.space.network import NetworkSpace

        key = (cfg.space, cfg.accel_space, cfg.cost_backend)
        if key not in self._cache:
            space = NetworkSpace.load(cfg.space)
            grid = AcceleratorSpace.load(cfg.accel_space)
            table = CostTable.build(space, grid, get_cost_model(cfg.cost_backend, grid.hardware))
            self._cache[key] = (space, table, SpaceDistribution(table, space))
        return self._cache[key]

    def check(self, cfg, arch: str, budget) -> tuple[float, bool, object]:
        """The budget's metric on the EDAP-best accelerator meeting ``budget`` (a relative one resolved on
        the trial's space, grid and cost model) for ``arch``, whether it is met, and the resolved budget."""
        from hdx.cost.feasibility import choose_accelerator
        from hdx.cost.relative import resolve
        from hdx.metrics import Objective

        space, table, dist = self.setup(cfg)
        b = resolve([budget], table, space, dist)[0][0]
        c = choose_accelerator(table.arch_metrics(space.encode(arch)), Objective("edap"), [b])
        return c.metrics[b.metric], c.feasible, b


def _binding_slack(design) -> float | None:
    """The smallest slack over a design's hard budgets (None without one)."""
    hard = [b.slack for b in (design.budgets if design is not None else []) if b.kind == "hard"]
    return min(hard) if hard else None


def collect(out: str | Path, spec: SweepSpec, trials: list[Trial]) -> list[dict]:
    """One row per trial, read from the run directories (the same whichever way they were run)."""
    from hdx.budgets import parse_budget_specs
    from hdx.search.records import SearchFinal

    out = Path(out)
    keys = axis_keys(spec)
    judge_budgets = [parse_budget_specs([b])[0] for b in spec.judge_budgets]
    judge = _Judge()
    rows = []
    for t in trials:
        d = out / "trials" / t.name
        final = SearchFinal.read(d) if (d / "final.json").is_file() else None
        rec = _read_json(d / TRIAL_FILE) or {}
        row: dict = {"trial": t.name}
        if final is not None:
            row["status"] = "feasible" if final.feasible else "infeasible"
            row["error"] = ""
        elif rec.get("status") == "failed":
            row["status"], row["error"] = "failed", str(rec.get("error") or "")
        else:
            row["status"], row["error"] = "pending", ""
        for k in keys:
            row[k] = axis_text(t.axes.get(k, getattr(t.config, k)))
        acc = final.accelerator if final is not None else None
        m = acc.metrics if acc is not None else {}
        row.update({
            "arch": final.arch if final else "", "accelerator": acc.accelerator if acc else "",
            "latency_ms": m.get("latency"), "energy_mJ": m.get("energy"), "area_mm2": m.get("area"),
            "objective": t.config.objective, "objective_value": final.objective_value if final else None,
            "budgets": ";".join(t.config.budgets),
            "verdicts": ";".join(f"{b.budget}:{'met' if b.met else 'missed'}"
                                 for b in (acc.budgets if acc else [])),
            "slacks": ";".join(f"{b.budget}:{b.slack:+.6f}" for b in (acc.budgets if acc else [])),
            "slack": _binding_slack(acc),
        })
        for b in judge_budgets:
            val, ok, resolved = (None, None, None)
            if final is not None and not t.config.budgets:
                val, ok, resolved = judge.check(t.config, final.arch, b)
            row[f"judge[{b.text()}]"] = "" if ok is None else ("met" if ok else "missed")
            row[f"judge_value[{b.text()}]"] = val
            row[f"judge_slack[{b.text()}]"] = None if val is None else resolved.slack(val)
        fill = final.fill if final is not None else None
        row.update({
            "fill": fill.mode if fill else "", "fill_applied": fill.applied if fill else None,
            "unfilled_arch": fill.start_arch if fill else "",
            "unfilled_latency_ms": fill.start.metrics["latency"] if fill else None,
            "unfilled_slack": _binding_slack(fill.start) if fill else None,
            "unfilled_objective_value": fill.objective_start if fill else None,
        })
        a = final.accuracy_inherited if final is not None else {}
        row["unfilled_val_acc"] = ((fill.start_accuracy or a).get("val_acc") if fill else None)
        row["val_acc"] = a.get("val_acc")
        row["test_acc"] = a.get("test_acc")
        row["retrained_acc"] = final.retrained.test_accuracy if final and final.retrained else None
        row["wall_s"] = rec.get("wall_s") if final is not None else None
        rows.append(row)
    return rows


def write_results(out: str | Path, rows: list[dict]) -> None:
    """``results.csv`` and ``results.json`` in the sweep directory (atomic)."""
    from hdx.safeio import atomic_write_json, atomic_write_text

    out = Path(out)
    atomic_write_json(out / RESULTS_JSON, {"rows": rows})
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    atomic_write_text(out / RESULTS_CSV, buf.getvalue())


def variant_label(row: dict, spec: SweepSpec) -> str:
    keys = [k for k in axis_keys(spec) if k not in ("seed", "budgets")]
    return ", ".join(f"{k}={row[k]}" for k in keys) or "base"


def summary(rows: list[dict], spec: SweepSpec) -> list[dict]:
    """Groups variant × budget: ``n``, ``met``, ``failed``, ``median_slack`` and ``max_slack`` (of the
    trials meeting the budget; None if none), ``mean_acc`` (val, finished trials)."""
    groups: dict[tuple[str, str], list[tuple[bool, bool, float | None, float | None]]] = {}
    for r in rows:
        var = variant_label(r, spec)
        finished = r["status"] in ("feasible", "infeasible")
        entries = []
        if r["budgets"]:
            entries.append((r["budgets"], r["status"] == "feasible", r.get("slack")))
        else:
            for b in spec.judge_budgets:
                entries.append((b, r[f"judge[{b}]"] == "met", r.get(f"judge_slack[{b}]")))
            if not spec.judge_budgets:
                entries.append(("(none)", finished, None))
        for budget, met, slack in entries:
            groups.setdefault((var, budget), []).append((met, r["status"] == "failed",
                                                         r["val_acc"] if finished else None,
                                                         slack if met else None))
    out = []
    for (var, budget), g in groups.items():
        accs = [a for _, _, a, _ in g if a is not None]
        slacks = [x for *_, x in g if x is not None]
        out.append({"variant": var, "budget": budget, "n": len(g), "met": sum(m for m, *_ in g),
                    "failed": sum(f for _, f, *_ in g),
                    "median_slack": float(np.median(slacks)) if slacks else None,
                    "max_slack": float(np.max(slacks)) if slacks else None,
                    "mean_acc": float(np.mean(accs)) if accs else None})
    return out


def format_summary(rows: list[dict], spec: SweepSpec) -> str:
    """The summary as a fixed-width text table (slack: of the trials meeting the budget, ground truth)."""
    s = summary(rows, spec)
    wv = max([len("variant")] + [len(x["variant"]) for x in s])
    wb = max([len("budget")] + [len(x["budget"]) for x in s])
    lines = [f"{'variant':<{wv}}  {'budget':<{wb}}  {'met':>7}  {'failed':>6}  {'slack med':>9}  "
             f"{'slack max':>9}  {'mean acc':>8}"]

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}%"

    for x in s:
        acc = f"{100 * x['mean_acc']:.1f}%" if x["mean_acc"] is not None else "n/a"
        met = f"{x['met']:>3}/{x['n']:<3}"
        lines.append(f"{x['variant']:<{wv}}  {x['budget']:<{wb}}  {met}  {x['failed']:>6}  "
                     f"{pct(x['median_slack']):>9}  {pct(x['max_slack']):>9}  {acc:>8}")
    return "\n".join(lines)
