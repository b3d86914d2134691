"""``hdx sweep``: many searches (method × budgets × λ × seed × any config key) on Ray, resumable.

Python API::

    from hdx.sweep import run_sweep
    res = run_sweep("my_sweep.yaml", "runs/sweep1", num_cpus=2)     # local Ray (serial without Ray)
    res.rows                                                           # one dict per trial

See :mod:`hdx.sweep.spec` (the sweep file), :mod:`hdx.sweep.runner` (execution, resume, fault
tolerance), :mod:`hdx.sweep.trial` (one trial = one search run directory), :mod:`hdx.sweep.results`
(results.csv / results.json, summary) and :mod:`hdx.search.warmup` (shared warm-ups).
"""

from hdx.sweep.results import format_summary, summary
from hdx.sweep.runner import SweepResult, run_sweep
from hdx.sweep.spec import SweepSpec, Trial, expand, load_sweep
from hdx.sweep.trial import run_trial

__all__ = ["SweepResult", "SweepSpec", "Trial", "expand", "format_summary", "load_sweep", "run_sweep",
           "run_trial", "summary"]
