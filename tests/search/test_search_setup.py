"""The search's setup: ``--evaluator auto`` uses the shipped learned evaluator only where it was built
for the run's space, grid, cost model and objective; otherwise the exact oracle, with a one-line note.
An evaluator the user names (``learned`` or a file) is refused when it does not fit."""

from __future__ import annotations

import pytest
import yaml

from hdx.cli.main import main
from hdx.config import builtin_config_dir
from hdx.evaluator import default_evaluator_path
from hdx.search.config import SearchConfig
from hdx.search.loop import prepare

SHIPPED = default_evaluator_path("dance_cifar10", "eyeriss_like", "edap")
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped learned evaluator in this build")
TINY_RUN = ["fake_data=true", "subset=96", "batch_size=32", "epochs=2", "warmup_epochs=1", "width_mult=0.25",
            "eval_images=0", "recheck_rounds=0", "bn_batches=1", "threads=1", "retrain_epochs=0",
            "--no-progress", "--no-budget"]


@pytest.fixture(scope="module")
def changed_grid(tmp_path_factory):
    """The shipped accelerator space with one knob changed and its name kept."""
    data = yaml.safe_load((builtin_config_dir("accelerator") / "eyeriss_like.yaml").read_text())
    assert data["name"] == "eyeriss_like" and data["knobs"]["glb_kib"] == [128]
    data["knobs"]["glb_kib"] = [64, 128]
    p = tmp_path_factory.mktemp("grid") / "mine.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_auto_takes_the_shipped_evaluator_where_it_fits():
    setup = prepare(SearchConfig(fake_data=True))
    assert setup.evaluator_kind == "learned (shipped)" and setup.notes == []


def test_auto_skips_a_shipped_evaluator_that_does_not_fit(changed_grid):
    setup = prepare(SearchConfig(fake_data=True, accel_space=str(changed_grid)))
    assert setup.grid.name == "eyeriss_like"  # the name alone would pick the shipped file
    assert setup.evaluator_kind == "oracle"
    assert len(setup.notes) == 1 and "grid config" in setup.notes[0] and "exact oracle" in setup.notes[0]
    assert "\n" not in setup.notes[0]


def test_cli_auto_runs_with_the_oracle_and_says_so(changed_grid, tmp_path, capsys):
    rc = main(["search", "--accel-space", str(changed_grid), *TINY_RUN, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 0, err
    notes = [ln for ln in err.splitlines() if ln.startswith("note: evaluator auto")]
    assert len(notes) == 1 and "evaluator oracle" in err
    assert (tmp_path / "run" / "final.json").is_file()


@pytest.mark.parametrize("named", ["learned", str(SHIPPED)])
def test_an_evaluator_named_explicitly_is_refused_when_it_does_not_fit(named, changed_grid, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["search", "--accel-space", str(changed_grid), "--evaluator", named, *TINY_RUN,
               "--out", str(out)])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert rc == 2 and len(errors) == 1 and "built for grid config" in errors[0]
    assert not out.exists()
