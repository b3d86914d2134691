"""Run CACTI 7 over a grid of SRAMs and write the result as an HDX technology table (YAML).

The grid is capacity (2 KiB .. 4 MiB in powers of two) x access width (2 .. 128 bytes per access: 1 ..
64 16-bit words; a GLB moving B words of w bits per cycle through one port has an access of B·w/8
bytes) x read/write ports (1, 2: a second port doubles the accesses per cycle). Each point is one CACTI
run of the template ``src/hdx/configs/tech/cacti7_sram.cfg`` (a RAM without tags or ECC, CACTI's
default energy-delay^2 organisation search, as Accelergy's CACTI plug-in runs it); the script reads
CACTI's per-run CSV (``<cfg>.out``): read and write energy per access, standby leakage (subthreshold +
gate) and area. A point CACTI cannot organise (e.g. 128-byte lines in 2 KiB) is listed and left out.

Cell type: ``itrs-lstp`` (low standby power: high threshold voltage, thick oxide) for cells and
periphery. CACTI's three ITRS flavours differ by orders of magnitude in leakage: at 45 nm, 128 KiB,
8-byte access, 300 K this script measures 0.0033 mW (lstp), 2.8 mW (lop: low operating power, lower
supply voltage) and 62 mW (hp: high performance, low threshold), for read energies of 32, 16 and 33 pJ.
At the accelerator's 200 MHz clock, lstp gives the lowest SRAM power (read energy x reads/s + leakage)
at every size from 8 KiB to 4 MiB when the memory is read one cycle in ten (128 KiB: 0.65 mW against
3.1 mW lop and 63 mW hp), and at every duty from 1 MiB up; lop is lower only for a buffer of 128 KiB or
less read every cycle (128 KiB: 5.9 against 6.5 mW), and then leaks 840x more whenever it idles. A
design-space search sizes buffers up and down and leaves them idle for parts of every layer, so lstp
is the flavour a low-power accelerator would use; Accelergy's CACTI plug-in uses it too, and the
reference cases computed with that plug-in (TL03, TL04, TL06, TL07: 128 KiB, 64-bit access) are
reproduced within 0.3 % in read and write energy and area. ``--compare-cells`` prints the comparison;
``--cell`` regenerates the table with another flavour (``cacti7_45nm_lop``, ``cacti7_45nm_hp``).
One-port lstp arrays cycle within the 5 ns clock at every width up to 512 KiB and at accesses up to 8
bytes up to 4 MiB; bigger, wider ones take 8-9 ns (each point's cycle time is written as a comment).

Temperature: 300 K, as Accelergy's plug-in runs CACTI (its leakage for the 128 KiB reference GLB,
0.00335 pJ per 1 ns cycle, is this table's 0.0033 mW) and as the Aladdin MAC and register-file
leakage below was characterised; at a hot 360 K junction CACTI's lstp leakage is 9x higher
(``--temperature 360``), dynamic energy and area unchanged.

Small memories. CACTI does not model register files (its arrays need at least 64 rows; Accelergy
sends memories of a few hundred bytes to its Aladdin register tables instead). The table therefore
keeps the register-file points of ``accelergy_45nm.yaml`` (2, 24, 32, 384 B: the values the Timeloop
reference cases applied), with the leakage those cases charged as idle energy per 5 ns cycle (the
latency row of the Aladdin table they used: 2.2 pJ per 16-bit MAC and 0.066 pJ idle are that row), and
starts the CACTI points at 2 KiB, the first power of two at which CACTI's SRAM costs at least as much
energy and area per 16-bit access as the 384-byte register file (1 KiB: 1.16 pJ and 3376 µm² against
1.59 pJ and 3635 µm²), so energy and area grow with capacity across the two models. Leakage does not:
a flip-flop register file (0.0048 mW at 384 B) leaks more than an lstp SRAM of 2 KiB (0.00007 mW).
MAC, DRAM and interconnect entries are those of ``accelergy_45nm.yaml``, plus the MACs' leakage.

Run (CACTI is not part of HDX: fetch github.com/HewlettPackard/cacti and build it with ``make``):

    python benchmarks/cacti_table.py --cacti /path/to/cacti/cacti \\
        --out src/hdx/configs/tech/cacti7_45nm_lstp.yaml --compare-cells

It prints every point (energy per access and per 16-bit word, area, leakage, cycle time), writes the
YAML atomically (about 4 minutes on one core) and, with ``--compare-cells``, the cell comparison.
``--sizes/--widths/--ports`` shrink the grid for a quick look; ``--banks N`` prints CACTI's multi-bank
organisation (not a table axis: CACTI's banks share no crossbar, so more banks make an access cheaper
and cost little area, which would make bandwidth look free). ``--summary TABLE`` prints a written
table as markdown without running CACTI.
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from hdx.cost.tech import load_tech
from hdx.safeio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
TECH_DIR = REPO / "src/hdx/configs/tech"
TEMPLATE = TECH_DIR / "cacti7_sram.cfg"
SIZES = [1 << k for k in range(11, 23)]          # 2 KiB .. 4 MiB
WIDTHS = [2, 4, 8, 16, 32, 64, 128]              # bytes per access
PORTS = [1, 2]                                   # read/write ports
CELLS = ("itrs-lstp", "itrs-lop", "itrs-hp")

# Leakage of the small (Accelergy) points, from the idle energy per cycle that the Timeloop reference
# cases charged (Accelergy Aladdin tables at their 5 ns latency row): bytes -> (idle pJ, source).
ALADDIN_CYCLE_NS = 5.0
BASE_IDLE_PJ = {
    2: (0.006, "one 16-bit register: DummyBuffer idle 0.006 pJ (TL20/TL24; Accelergy's register-file idle "
               "is one word of registers plus address comparators)"),
    24: (0.018, "ifmap_spad idle 0.018 pJ (TL20/TL24)"),
    32: (0.018, "psum_spad idle 0.018 pJ (TL20/TL24)"),
    384: (0.024, "weights_spad idle 0.024 pJ (TL20/TL24)"),
}
MAC_IDLE_PJ = {
    8: (0.018, "Aladdin 5 ns row: 8-bit multiplier (32-bit idle 0.24 pJ x (8/32)^2) + adder "
               "(0.0119 pJ x 8/32)"),
    16: (0.066, "mac idle 0.066 pJ (TL20/TL22/TL23/TL24)"),
}


CELL_NOTE = {
    "itrs-lstp": ["# Cell type: itrs-lstp (low standby power, high-Vt): at a 200 MHz clock the lowest SRAM",
                  "# power of CACTI's three flavours from 8 KiB to 4 MiB at one read in ten cycles (128 KiB:",
                  "# 0.65 mW vs 3.1 mW lop and 63 mW hp, which leak 840x and 19000x more: docs/tech.md)."],
    "itrs-lop": ["# Cell type: itrs-lop (low operating power), for comparison with cacti7_45nm_lstp, the",
                 "# table a low-power accelerator would use (see docs/tech.md)."],
    "itrs-hp": ["# Cell type: itrs-hp (high performance, low-Vt), for comparison with cacti7_45nm_lstp, the",
                "# table a low-power accelerator would use (see docs/tech.md)."],
}


@dataclass(frozen=True)
class Point:
    size: int
    width: int     # bytes per access
    ports: int
    read_pj: float
    write_pj: float
    leak_mw: float  # whole memory
    area_um2: float
    cycle_ns: float
    access_ns: float


def render(template: str, size: int, width: int, ports: int, cell: str, node_um: float,
           temperature_k: int, banks: int = 1) -> str:
    """The CACTI configuration of one grid point (the template with its placeholders filled in)."""
    return Template(template).substitute(size_bytes=size, block_bytes=width, bus_bits=8 * width,
                                         banks=banks, rw_ports=ports, cell=cell, node_um=node_um,
                                         temperature_k=temperature_k)


def run_point(cacti: Path, cfg_text: str, workdir: Path, timeout: float) -> dict[str, str] | str:
    """Run CACTI on one configuration; the last CSV row as a dict, or the reason it gave none."""
    cfg = workdir / "point.cfg"
    out = workdir / "point.cfg.out"
    out.unlink(missing_ok=True)
    cfg.write_text(cfg_text)
    # CACTI reads tech_params/<node>.dat relative to the working directory: run it from its folder.
    try:
        proc = subprocess.run([str(cacti), "-infile", str(cfg)], cwd=cacti.parent, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if not out.is_file():
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
        return (lines[0].strip() if lines else f"no output (exit code {proc.returncode})")[:200]
    with out.open() as f:
        rows = list(csv.reader(f))
    head = [h.strip() for h in rows[0]]
    return dict(zip(head, (v.strip() for v in rows[-1]), strict=False))


def parse(size: int, width: int, ports: int, row: dict[str, str], banks: int = 1) -> Point:
    """One grid point from CACTI's CSV row (nJ -> pJ, mm² -> µm², leakage of all banks)."""
    nb = int(row["Number of banks"])
    if nb != banks or int(row["Capacity (bytes)"]) != size or int(row["Output width (bits)"]) != 8 * width:
        raise ValueError(f"CACTI answered for {row['Capacity (bytes)']} B x {row['Output width (bits)']} "
                         f"bits x {nb} banks, asked {size} x {8 * width} x {banks}")
    p = Point(size, width, ports, read_pj=float(row["Dynamic read energy (nJ)"]) * 1e3,
              write_pj=float(row["Dynamic write energy (nJ)"]) * 1e3,
              leak_mw=float(row["Standby leakage per bank(mW)"]) * banks,
              area_um2=float(row["Area (mm2)"]) * 1e6, cycle_ns=float(row["Random cycle time (ns)"]),
              access_ns=float(row["Access time (ns)"]))
    if not all(math.isfinite(v) and v > 0 for v in (p.read_pj, p.write_pj, p.leak_mw, p.area_um2)):
        raise ValueError(f"CACTI gave a non-positive value at {size} B x {width} B x {ports} ports: {p}")
    return p


def sweep(cacti: Path, sizes, widths, ports, cell: str, node_um: float, temperature_k: int,
          timeout: float, banks: int = 1) -> tuple[list[Point], list[str]]:
    """Every grid point CACTI can organise, and one line per point it cannot."""
    template = TEMPLATE.read_text()
    points, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="hdx-cacti-") as tmp:
        for w in widths:
            for n in ports:
                for s in sizes:
                    row = run_point(cacti, render(template, s, w, n, cell, node_um, temperature_k, banks),
                                    Path(tmp), timeout)
                    if isinstance(row, str):
                        skipped.append(f"{s} B x {w} B/access x {n} ports: {row}")
                        continue
                    points.append(parse(s, w, n, row, banks))
                done = sum(p.width == w and p.ports == n for p in points)
                print(f"  {cell}: width {w:4d} B, {n} ports: {done}/{len(sizes)} sizes", file=sys.stderr,
                      flush=True)
    return points, skipped


def _g(x: float) -> str:
    """A CACTI number to 6 significant digits, written so that YAML reads it as a float (1.0e+06)."""
    text = f"{x:.6g}"
    mant, _, exp = text.partition("e")
    return f"{mant}.0e{exp}" if exp and "." not in mant else text


def table_yaml(points: list[Point], base_name: str, args, skipped: list[str]) -> str:
    """The technology table as YAML text: the base table's MAC/DRAM/NoC and small SRAM points (with
    their leakage) and one SRAM point per CACTI run."""
    base = load_tech(base_name)
    word_bits = base.ref_word_bits
    cmd = (f"python benchmarks/cacti_table.py --cacti CACTI --cell {args.cell} --node-um {args.node_um} "
           f"--temperature {args.temperature} --out {args.out}")
    lines = [
        f"# CACTI 7 technology table: {args.node_um * 1000:.0f} nm, {args.cell} cells and periphery, "
        f"{args.temperature} K.",
        "# Generated by (CACTI 7 = github.com/HewlettPackard/cacti, built with make):",
        f"#   {cmd}",
        "# One CACTI run per SRAM point with width_bits, of the template cacti7_sram.cfg in this folder",
        "# (RAM, no ECC, energy-delay^2 organisation search) filled in with bytes, width_bits/8, ports.",
        *CELL_NOTE[args.cell],
        "# Points without width_bits (register files, under 2 KiB) and the MAC, DRAM and NoC entries are",
        f"# those of {base_name}.yaml (Accelergy's Aladdin tables as the Timeloop reference cases applied",
        "# them), with leakage = the idle energy those cases charged per 5 ns cycle.",
        "# Units: energy_pj / write_energy_pj per access of width_bits bits (pJ), area_um2 per instance",
        "# (um^2), leakage_mw per instance (mW); cycle = CACTI's random cycle time (ns), for reference.",
        f"name: {Path(args.out).stem}",
        f"ref_word_bits: {word_bits}",
        "mac:",
    ]
    for m in base.mac:
        idle, src = MAC_IDLE_PJ[m.bits]
        lines.append(f"  - {{bits: {m.bits}, energy_pj: {m.energy_pj!r}, area_um2: {m.area_um2!r}, "
                     f"leakage_mw: {_g(idle / ALADDIN_CYCLE_NS)}}}  # leakage: {src}")
    lines.append("sram:")
    small = [p for p in base.sram if p.bytes < min(pt.size for pt in points)]
    for p in small:
        idle, src = BASE_IDLE_PJ[int(p.bytes)]
        lines.append(f"  - {{bytes: {p.bytes!r}, energy_pj: {p.energy_pj!r}, area_um2: {p.area_um2!r}, "
                     f"leakage_mw: {_g(idle / ALADDIN_CYCLE_NS)}}}  # {base_name}; leakage: {src}")
    for p in sorted(points, key=lambda q: (q.width, q.ports, q.size)):
        lines.append(
            f"  - {{bytes: {p.size}, width_bits: {8 * p.width}, ports: {p.ports}, "
            f"energy_pj: {_g(p.read_pj)}, write_energy_pj: {_g(p.write_pj)}, area_um2: {_g(p.area_um2)}, "
            f"leakage_mw: {_g(p.leak_mw)}}}"
            f"  # cycle {p.cycle_ns:.3g} ns")
    lines += [f"dram_pj_per_64bit: {base.dram_pj_per_64bit!r}",
              f"noc_registers_per_pe: {base.noc_registers_per_pe!r}"]
    if skipped:
        lines.append("# CACTI found no organisation for: " + "; ".join(skipped))
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # parses
    return text


def print_table(points: list[Point], word_bits: int) -> None:
    """One line per point: read/write energy per access and per word, area, leakage, cycle time."""
    print(f"{'size':>8} {'width B':>7} {'ports':>5} {'read pJ/acc':>11} {'write pJ/acc':>12} "
          f"{'read pJ/word':>12} {'area mm2':>9} {'leak mW':>9} {'cycle ns':>8}")
    for p in sorted(points, key=lambda q: (q.ports, q.width, q.size)):
        words = 8 * p.width / word_bits
        size = f"{p.size // 1024} KiB" if p.size >= 1024 else f"{p.size} B"
        print(f"{size:>8} {p.width:7d} {p.ports:5d} {p.read_pj:11.4g} {p.write_pj:12.4g} "
              f"{p.read_pj / words:12.4g} {p.area_um2 / 1e6:9.4g} {p.leak_mw:9.4g} {p.cycle_ns:8.3g}")


def compare_cells(cacti: Path, node_um: float, temperature_k: int, clock_mhz: float, timeout: float) -> None:
    """The three cell flavours side by side at a 64-bit access (the reference GLB's): energy, leakage,
    cycle time, and SRAM power at ``clock_mhz`` when read every cycle and every 10th cycle."""
    template = TEMPLATE.read_text()
    sizes, width = [8 << 10, 128 << 10, 1 << 20, 4 << 20], 8
    print(f"\ncell flavours, {width}-byte access, 1 port, {temperature_k} K; power = read energy x "
          f"accesses/s + leakage at {clock_mhz:g} MHz")
    print(f"{'cell':>10} {'size':>9} {'read pJ':>8} {'write pJ':>8} {'leak mW':>9} {'cycle ns':>8} "
          f"{'P every cycle mW':>16} {'P 1/10 cycles mW':>16}")
    with tempfile.TemporaryDirectory(prefix="hdx-cacti-") as tmp:
        for cell in CELLS:
            for s in sizes:
                row = run_point(cacti, render(template, s, width, 1, cell, node_um, temperature_k), Path(tmp),
                                timeout)
                if isinstance(row, str):
                    print(f"{cell:>10} {s // 1024:>5} KiB  {row}")
                    continue
                p = parse(s, width, 1, row)
                dyn = p.read_pj * clock_mhz * 1e-3  # pJ x MHz = µW; /1000 -> mW
                print(f"{cell:>10} {s // 1024:>5} KiB {p.read_pj:8.4g} {p.write_pj:8.4g} {p.leak_mw:9.4g} "
                      f"{p.cycle_ns:8.3g} {dyn + p.leak_mw:16.4g} {dyn / 10 + p.leak_mw:16.4g}")


def summarize(name_or_path: str, words=(1, 4, 32)) -> None:
    """Print a written table (no CACTI needed) as a markdown table: per capacity of its CACTI points and
    per access width in words, read/write energy per access, read energy per word, area, leakage (one
    port); then the cost of a second port (ratios over every point)."""
    t = load_tech(name_or_path)
    wb = t.ref_word_bits
    sizes = sorted({p.bytes for p in t.sram if p.width_bits is not None})
    head = " | ".join(f"{w}-word ({w * wb} b): read / write pJ, pJ/word, area mm², leak mW" for w in words)
    print(f"{t.name}: {len(t.sram)} SRAM points, widths {t.sram_widths_bits} bits, ports {t.sram_ports}")
    print(f"\n| capacity | {head} |")
    print("|---|" + "---|" * len(words))
    for s in sizes:
        cells = []
        for w in words:
            rd = float(t.sram_access_energy_pj(s, w * wb))
            wr = float(t.sram_access_energy_pj(s, w * wb, write=True))
            cells.append(f"{rd:.4g} / {wr:.4g}, {rd / w:.4g}, {float(t.sram_area_um2(s, w)) / 1e6:.4g}, "
                         f"{float(t.sram_leakage_mw(s, w)):.3g}")
        label = f"{s / 1024:g} KiB" if s < 1 << 20 else f"{s / (1 << 20):g} MiB"
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    if len(t.sram_ports) > 1:
        one = {(p.width_bits, p.bytes): p for p in t.sram if p.width_bits and p.ports == t.sram_ports[0]}
        two = {(p.width_bits, p.bytes): p for p in t.sram if p.width_bits and p.ports == t.sram_ports[1]}
        keys = sorted(one.keys() & two.keys())
        n1, n2 = t.sram_ports[:2]
        for label, f in (("area", "area_um2"), ("read energy", "energy_pj"),
                         ("write energy", "write_energy_pj"), ("leakage", "leakage_mw")):
            r = sorted(getattr(two[k], f) / getattr(one[k], f) for k in keys)
            print(f"{n2} ports / {n1} port, {label}: {r[0]:.3g} .. {r[-1]:.3g}x "
                  f"(median {r[len(r) // 2]:.3g}x) over {len(r)} points")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cacti", type=Path, help="path to the CACTI 7 binary (built with make)")
    ap.add_argument("--summary", metavar="TABLE", help="print a written table (shipped name or YAML) as a "
                    "markdown summary and exit; needs no CACTI")
    ap.add_argument("--cell", default="itrs-lstp", choices=CELLS, help="cell and peripheral flavour")
    ap.add_argument("--node-um", type=float, default=0.045, help="technology node (micrometres)")
    ap.add_argument("--temperature", type=int, default=300, help="junction temperature (K), 300..400 by 10")
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="capacities (bytes)")
    ap.add_argument("--widths", type=int, nargs="+", default=WIDTHS, help="access widths (bytes)")
    ap.add_argument("--ports", type=int, nargs="+", default=PORTS, help="read/write port counts")
    ap.add_argument("--banks", type=int, default=1, help="CACTI banks per memory (print only; the table "
                    "is written for 1 bank)")
    ap.add_argument("--base", default="accelergy_45nm", help="table giving MAC, DRAM, NoC and small SRAMs")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per CACTI run")
    ap.add_argument("--out", default=None, help="YAML to write (default: print only)")
    ap.add_argument("--compare-cells", action="store_true", help="also print the three cell flavours side "
                    "by side (8 KiB .. 4 MiB, 8-byte access)")
    ap.add_argument("--clock-mhz", type=float, default=200.0, help="clock for --compare-cells' power figures")
    args = ap.parse_args(argv)
    if args.summary:
        summarize(args.summary)
        return 0
    if args.cacti is None:
        print("error: give --cacti /path/to/cacti (or --summary TABLE)", file=sys.stderr)
        return 2
    cacti = args.cacti.resolve()
    if not cacti.is_file():
        print(f"error: --cacti {args.cacti} is not a file; build CACTI with make and give its binary",
              file=sys.stderr)
        return 2
    if not (cacti.parent / "tech_params").is_dir():
        print(f"error: {cacti.parent}/tech_params is missing; give the binary inside CACTI's source folder",
              file=sys.stderr)
        return 2
    if args.banks != 1 and args.out:
        print("error: --banks is for printing only; drop --out (tables are written for 1 bank)",
              file=sys.stderr)
        return 2
    if args.banks < 1 or args.banks & (args.banks - 1):
        print("error: --banks must be a power of two (CACTI's banks)", file=sys.stderr)
        return 2
    if not 300 <= args.temperature <= 400 or args.temperature % 10:
        print("error: --temperature must be 300..400 K in steps of 10 (CACTI's tables)", file=sys.stderr)
        return 2
    points, skipped = sweep(cacti, sorted(set(args.sizes)), sorted(set(args.widths)), sorted(set(args.ports)),
                            args.cell, args.node_um, args.temperature, args.timeout, args.banks)
    if not points:
        print("error: CACTI produced no point: " + "; ".join(skipped[:3]), file=sys.stderr)
        return 2
    print_table(points, load_tech(args.base).ref_word_bits)
    for s in skipped:
        print(f"skipped: {s}")
    if args.compare_cells:
        compare_cells(cacti, args.node_um, args.temperature, args.clock_mhz, args.timeout)
    if args.out:
        args.out = str(Path(args.out))
        text = table_yaml(points, args.base, args, skipped)
        atomic_write_text(args.out, text)
        print(f"wrote {args.out} ({len(points)} CACTI points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
