"""``hdx report``: every figure is drawn from a real (tiny) search run, the HTML page is self-contained
(no network), renders in a real headless Chromium (every image decoded, network / accelerator /
budget verdict shown), compares several runs, and bad run directories are one-line errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from hdx.cli.main import main


@pytest.fixture(scope="module")
def runs(tiny_run, tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("runs")
    # hdx under the budgets, and DANCE with no cost term: the latter typically misses the latency budget
    return [tiny_run(base, "hdx"), tiny_run(base, "dance", method="dance", hw_lambda=0.0)]


def test_single_run_report(runs, tmp_path, capsys):
    capsys.readouterr()
    assert main(["report", str(runs[0]), "--out", str(tmp_path / "rep")]) == 0
    page = Path(capsys.readouterr().out.strip())
    assert page == tmp_path / "rep" / "report.html" and page.is_file()
    final = json.loads((runs[0] / "final.json").read_text())
    html = page.read_text()
    for name in ("trajectory.png", "architecture.png", "grid.png", "layers.png"):
        png = (tmp_path / "rep" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        assert f'data-file="{name}"' in html
    assert final["arch"] in html and final["accelerator"]["accelerator"] in html
    assert final["accelerator_generator"]["accelerator"] in html
    for b in final["accelerator"]["budgets"]:
        assert b["budget"].replace("<", "&lt;") in html
    verdict = "FEASIBLE" if final["feasible"] else "INFEASIBLE"
    assert re.search(rf'id="verdict">{verdict}', html)
    # the command that has ZigZag cost the design: the run's network and its --check
    check = re.search(r'class="check">.*?<code>(.*?)</code>', html).group(1)
    assert check.startswith(f"hdx cost --arch {final['arch']} ") and check.endswith("--check zigzag")
    # self-contained: no external resource of any kind
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html and "<link" not in html
    assert html.count('src="data:image/png;base64,') == 4


def test_report_api_default_folder(runs, tmp_path):
    from hdx.report import write_report

    run = tmp_path / "copy"
    shutil.copytree(runs[0], run)
    assert write_report(run) == run / "report" / "report.html"


def test_comparison_of_several_runs(runs, tmp_path):
    from hdx.report import write_report

    page = write_report(runs, tmp_path / "cmp")
    html = page.read_text()
    assert (tmp_path / "cmp" / "compare.png").is_file()
    assert html.count('src="data:image/png;base64,') == 1 + 4 * len(runs)
    for r in runs:
        final = json.loads((r / "final.json").read_text())
        assert final["arch"] in html and final["method"] in html
        assert ("feasible" if final["feasible"] else "INFEASIBLE") in html


@pytest.mark.parametrize("damage,needle", [
    (lambda d: (d / "final.json").unlink(), "final.json is missing"),
    (lambda d: (d / "final.json").write_text('{"feasible": NaN}'), "not valid JSON"),
    (lambda d: (d / "final.json").write_text('{"feasible": true, "arch": 3}'), "field"),
    (lambda d: (d / "config.yaml").write_text("!!python/object/apply:os.system ['echo hi']"), "YAML"),
])
def test_damaged_run_is_one_line_error(runs, tmp_path, capsys, damage, needle):
    run = tmp_path / "r"
    shutil.copytree(runs[0], run)
    damage(run)
    capsys.readouterr()
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_missing_run_dir(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.mark.skipif(_chromium() is None, reason="Debian chromium and chromium-driver are not installed "
                    "(apt-get install chromium chromium-driver; .ci/run installs them)")
def test_page_renders_in_headless_chromium(runs, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (dev extra) is not installed")
    from selenium.webdriver.chrome.service import Service

    from hdx.report import write_report

    page = write_report(runs, tmp_path / "b")
    browser, driver = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1200,900"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        d.get(page.resolve().as_uri())
        imgs = d.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
                                "i.naturalHeight, i.getAttribute('data-file')]);")
        assert len(imgs) == 1 + 4 * len(runs)
        for complete, w, h, name in imgs:
            assert complete and w > 100 and h > 100, name
        text = d.find_element("tag name", "body").text
        for r in runs:
            final = json.loads((r / "final.json").read_text())
            assert final["arch"] in text and final["accelerator"]["accelerator"] in text
        verdicts = [e.text for e in d.find_elements("css selector", "div.verdict")]
        assert len(verdicts) == len(runs)
        assert all(v.startswith(("FEASIBLE", "INFEASIBLE")) for v in verdicts)
    finally:
        d.quit()


# ----- issue 19: every run field is drawn literally and escaped; reads are bounded -------------------------
MARKUP = "$\\frac{1}{$ \\ <script>alert(1)</script> {} {0} %s $$"


def _copy(runs, tmp_path, name="r") -> Path:
    run = tmp_path / name
    shutil.copytree(runs[0], run)
    return run


def _edit_final(run: Path, edit) -> None:
    f = json.loads((run / "final.json").read_text())
    edit(f)
    (run / "final.json").write_text(json.dumps(f))


def test_markup_and_mathtext_in_run_fields_are_plain_text(runs, tmp_path, capsys):
    # the crash: matplotlib parsed a run field holding $...$ as mathtext (ParseFatalException)
    run = _copy(runs, tmp_path, "r$x$<b>")

    def edit(f):
        f["method"] = MARKUP
        f["evaluator"] = MARKUP
        for b in f["accelerator"]["budgets"]:
            b["budget"] = MARKUP + "\n" * 50
    _edit_final(run, edit)
    capsys.readouterr()
    assert main(["report", str(run), str(runs[1]), "--out", str(tmp_path / "rep")]) == 0
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "r$x$&lt;b&gt;" in html
    assert len(list((tmp_path / "rep").glob("*.png"))) == 1 + 4 * 2


def test_plain_labels():
    from hdx.report.figures import MAX_LABEL_CHARS, plain

    assert plain("$\\frac{1}{2}$") == "$\\frac{1}{2}$"  # kept as characters: mathtext is off
    assert plain("a\nb\tc\x00d") == "a b c d"
    long = plain("x" * 10_000)
    assert len(long) == MAX_LABEL_CHARS and long.endswith("…")


@pytest.mark.parametrize("edit,needle", [
    (lambda f: f.__setitem__("alpha_probs", [[0.5], [0.2, 0.8]]), "alpha_probs is not"),
    (lambda f: f["alpha_probs"][0].__setitem__(0, 1e300), "outside [0, 1]"),
    (lambda f: f["accelerator"]["budgets"][0].__setitem__("metric", "$joy$"), "budget on '$joy$'"),
    (lambda f: f["accelerator"]["metrics"].pop("area"), "metrics lacks area"),
    (lambda f: f.__setitem__("arch", "mb3e3"), "does not fit the run's space"),
])
def test_run_records_are_checked_against_the_space(runs, tmp_path, capsys, edit, needle):
    run = _copy(runs, tmp_path)
    _edit_final(run, edit)
    capsys.readouterr()
    assert main(["report", str(run), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_metrics_are_streamed_and_thinned_with_exact_counts(runs, tmp_path, monkeypatch):
    from hdx.report import load

    run = _copy(runs, tmp_path)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    step = next(ln for ln in lines if '"phase": "search"' in ln)
    fired = json.dumps({**json.loads(step), "fired": True})
    own = sum('"phase": "search"' in ln or '"phase": "recheck"' in ln for ln in lines)
    own_fired = sum(json.loads(ln).get("fired", False) for ln in lines if '"phase": "' in ln
                    and json.loads(ln).get("phase") in ("search", "recheck"))
    with open(run / "metrics.jsonl", "a") as f:
        f.write("\n".join([step, step, step, fired] * 250) + "\n")  # 1000 more, 250 of them fired
        f.write('{"phase": "search", "x": "' + "y" * (load.MAX_LINE_BYTES + 1) + '"}\n')  # skipped
    monkeypatch.setattr(load, "MAX_KEPT_STEPS", 50)
    m = load.load_metrics(run)
    assert m.step_count == own + 1000 and m.fired_count == own_fired + 250
    assert len(m.steps) == len(m.step_index) < 2 * 50
    strides = {b - a for a, b in zip(m.step_index, m.step_index[1:], strict=False)}
    assert m.step_index[0] == 0 and len(strides) == 1 and strides.pop() * len(m.steps) >= m.step_count - 64
    r = load.load_run(run)
    assert r.step_count == m.step_count and r.fired_count == m.fired_count


def test_oversized_run_files_are_one_line(runs, tmp_path, capsys, monkeypatch):
    from hdx.report import load

    run = _copy(runs, tmp_path)
    monkeypatch.setattr(load, "MAX_METRICS_BYTES", 1000)
    capsys.readouterr()
    assert main(["report", str(run), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metrics.jsonl" in err and "more than 1,000 bytes" in err
    monkeypatch.setattr(load, "MAX_METRICS_BYTES", 64 << 20)
    monkeypatch.setattr(load, "MAX_FINAL_BYTES", 100)
    assert main(["report", str(run), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "final.json" in err and "Traceback" not in err
