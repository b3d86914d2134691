"""Every ```bash and ```python block of README.md and docs/*.md is executed, so an example that a model
or API change breaks fails the suite.

How a block runs: the blocks of one markdown file run in order, in one fresh working directory (so a
block may use the run directory an earlier block made), each ```bash block as ``bash -e -o pipefail``
and each ```python block as a script, both with this interpreter's environment first on ``PATH`` (its
``hdx``, its ``python``) and this checkout's ``src`` first on ``PYTHONPATH``. ``$HDX_DATA`` points to a
tiny CIFAR-10 folder in the real pickle layout (5 x 64 training and 64 test images of random pixels),
so the examples run as a user pastes them, at a fraction of the time: a command that asks for more
images than there are uses all of them. ``src`` and ``benchmarks`` are linked into the working
directory, as if it were the repository root. A block passes when it exits 0 (or the code it
declares).

Markers: HTML comments on the lines right before a fence (several may be stacked):

* ``<!-- no-test: REASON -->``: not run (a GPU, a Ray cluster, the network, hours of CPU, ``make``);
  counted and printed by :func:`test_inventory_of_examples`;
* ``<!-- slow: REASON -->``: run only by the ``slow``-marked test (``pytest -m slow``);
* ``<!-- requires: MODULE[, MODULE] -->``: skipped (and counted) when an optional extra is missing;
* ``<!-- exit: N -->``: the block must exit with code N (an example of an error message);
* ``<!-- file: NAME -->`` before any fenced block (e.g. ```yaml): its text is written to NAME in the
  working directory, for the blocks after it.

Any other comment right before a fence, or a fence in another language than the known ones, fails
:func:`test_inventory_of_examples`, so a typo never silently drops an example.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGS = ("bash", "python")
OTHER_LANGS = ("yaml", "text", "json", "")
MARKERS = ("no-test", "slow", "requires", "exit", "file")
FENCE = re.compile(r"^```(\S*)\s*$")
COMMENT = re.compile(r"^<!--\s*([a-z-]+)\s*:\s*(.*?)\s*-->\s*$")
BLOCK_TIMEOUT_S = 600
TINY_PER_BATCH, TINY_TEST = 64, 64


@dataclass
class Block:
    """One fenced block of a markdown file and the markers written before it."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    markers: dict[str, str] = field(default_factory=dict)
    bad_markers: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{_rel(self.path)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang in RUN_LANGS and "no-test" not in self.markers

    def missing_modules(self) -> list[str]:
        mods = [m.strip() for m in self.markers.get("requires", "").split(",") if m.strip()]
        return [m for m in mods if importlib.util.find_spec(m) is None]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def parse_blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` with their markers (comments on the lines right above a fence)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1).lower()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise AssertionError(f"{_rel(path)}:{start + 1}: unclosed code fence")
        block = Block(path, start + 1, lang, "\n".join(lines[start + 1:j]) + "\n")
        k = start - 1
        while k >= 0 and lines[k].strip().startswith("<!--"):
            c = COMMENT.match(lines[k].strip())
            if c and c.group(1) in MARKERS:
                block.markers[c.group(1)] = c.group(2)
            else:
                block.bad_markers.append(lines[k].strip())
            k -= 1
        blocks.append(block)
        i = j + 1
    return blocks


ALL = {p: parse_blocks(p) for p in DOCS}


def _environment(work: Path, data: Path) -> dict[str, str]:
    import hdx

    src = Path(hdx.__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    env["HDX_DATA"] = str(data)
    env["XDG_CACHE_HOME"] = str(work.parent / "cache")
    env["MPLCONFIGDIR"] = str(work.parent / "mpl")
    env["MPLBACKEND"] = "Agg"
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from hdx.data.fake import write_fake_cifar10

    return write_fake_cifar10(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py",
                              per_batch=TINY_PER_BATCH, test=TINY_TEST)


def _run_file(path: Path, work: Path, data: Path, *, slow: bool) -> int:
    """Run the blocks of ``path`` in ``work``; fail with the block's place and output tail. Returns
    how many blocks ran."""
    work.mkdir(parents=True)
    for name in ("src", "benchmarks"):
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    env = _environment(work, data)
    ran = 0
    for n, b in enumerate(ALL[path]):
        if "file" in b.markers:
            (work / b.markers["file"]).write_text(b.code, encoding="utf-8")
        if not b.runs or ("slow" in b.markers and not slow) or b.missing_modules():
            continue
        if b.lang == "bash":
            cmd = ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", b.code]
        else:
            script = work / f"_example_{n}.py"
            script.write_text(b.code, encoding="utf-8")
            cmd = [sys.executable, script.name]
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                              timeout=BLOCK_TIMEOUT_S, stdin=subprocess.DEVNULL)
        want = int(b.markers.get("exit", "0"))
        if proc.returncode != want:
            tail = (proc.stdout[-3000:] + "\n--- stderr ---\n" + proc.stderr[-3000:]).strip()
            pytest.fail(f"{b.where} ({b.lang}) exited {proc.returncode}, expected {want}:\n{b.code}\n{tail}",
                        pytrace=False)
        if want == 2:  # an error example: one line, no traceback (the promise it illustrates)
            assert "Traceback" not in proc.stderr, f"{b.where}: traceback in an error example"
        ran += 1
    return ran


def test_inventory_of_examples(capsys):
    """Every fence is in a known language with known markers; lists the examples not run by default."""
    problems, not_run, slow, count = [], [], [], 0
    for blocks in ALL.values():
        for b in blocks:
            if b.lang not in RUN_LANGS + OTHER_LANGS:
                known = ", ".join(RUN_LANGS + OTHER_LANGS)
                problems.append(f"{b.where}: fence language '{b.lang}' (use one of: {known})")
            problems += [f"{b.where}: unknown marker {c}" for c in b.bad_markers]
            if "no-test" in b.markers and not b.markers["no-test"]:
                problems.append(f"{b.where}: no-test needs a reason")
            if "exit" in b.markers and not b.markers["exit"].isdigit():
                problems.append(f"{b.where}: exit marker needs a number")
            if b.lang not in RUN_LANGS:
                continue
            count += 1
            if "no-test" in b.markers:
                not_run.append(f"  {b.where}: {b.markers['no-test']}")
            elif "slow" in b.markers:
                slow.append(f"  {b.where}: {b.markers['slow']}")
    assert not problems, "\n".join(problems)
    assert count > 0
    with capsys.disabled():
        print(f"\ndocs examples: {count} bash/python blocks, {count - len(not_run) - len(slow)} run by "
              f"default, {len(slow)} only with -m slow, {len(not_run)} not run:")
        print("\n".join(not_run + [s + "  [slow]" for s in slow]))


def test_marker_parsing(tmp_path):
    """The parser keeps fence order, stacked markers, the code verbatim and flags unknown comments."""
    md = tmp_path / "x.md"
    md.write_text("text\n<!-- slow: minutes -->\n<!-- exit: 2 -->\n```bash\necho 'a  b'\n```\n"
                  "<!-- nottest: typo -->\n```python\nprint(1)\n```\n"
                  "<!-- file: s.yaml -->\n```yaml\nk: 1\n```\n")
    a, b, c = parse_blocks(md)
    assert (a.lang, a.line, a.code) == ("bash", 4, "echo 'a  b'\n")
    assert a.markers == {"slow": "minutes", "exit": "2"}
    assert b.bad_markers == ["<!-- nottest: typo -->"] and b.markers == {}
    assert (c.lang, c.markers, c.runs) == ("yaml", {"file": "s.yaml"}, False)


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_examples_run(path, tiny_data, tmp_path):
    """The default (fast) examples of one markdown file, in order."""
    if not any(b.runs and "slow" not in b.markers for b in ALL[path]):
        pytest.skip("no example run by default")
    _run_file(path, tmp_path / "work", tiny_data, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_examples_run_with_slow_ones(path, tiny_data, tmp_path):
    """Every runnable example of one markdown file, the slow ones included, in order."""
    if not any(b.runs and "slow" in b.markers for b in ALL[path]):
        pytest.skip("no slow example")
    _run_file(path, tmp_path / "work", tiny_data, slow=True)


# ---------------------------------------------------------------------------------------------------
# links and citations
LINK = re.compile(r"\]\(([^)\s]+)\)")
CITATION = re.compile(r"\bdocs/([\w-]+\.md)(?:#([\w-]+))?")


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)  # no code
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, flags=re.M)}


def test_slug_matches_github():
    assert slug("The evaluator (DANCE)") == "the-evaluator-dance"
    assert slug("`hdx cost tabulate`") == "hdx-cost-tabulate"
    assert slug("Hard budgets: HDX, DANCE and NAS-then-HW") == "hard-budgets-hdx-dance-and-nas-then-hw"


def test_links_between_the_docs_resolve():
    """Every relative link of README.md and docs/*.md to a file that exists names a heading it has;
    links to files that do not exist are printed (docs written on other branches)."""
    bad, missing = [], []
    for path in DOCS:
        for m in LINK.finditer(path.read_text(encoding="utf-8")):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                missing.append(f"{_rel(path)} -> {target}")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                bad.append(f"{_rel(path)} -> {target}: no such heading")
    assert not bad, "\n".join(bad)
    if missing:
        print("links to files not in this checkout:", *missing, sep="\n  ")


def test_source_citations_name_existing_docs():
    """Docstrings and shipped configs cite docs/*.md (with a heading that exists), never a file outside
    the repository."""
    bad = []
    for f in sorted((ROOT / "src").rglob("*")):
        if f.suffix not in (".py", ".yaml"):
            continue
        text = f.read_text(encoding="utf-8")
        for m in CITATION.finditer(text):
            doc = ROOT / "docs" / m.group(1)
            if not doc.exists():
                bad.append(f"{_rel(f)}: cites {m.group(0)}, which does not exist")
            elif m.group(2) and m.group(2) not in anchors(doc):
                bad.append(f"{_rel(f)}: cites {m.group(0)}: no such heading")
    assert not bad, "\n".join(bad)
