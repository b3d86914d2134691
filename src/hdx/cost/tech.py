"""Technology tables: per-access energy, area and leakage of MACs and memories (Accelergy style).

A :class:`TechTable` holds real table points (``configs/tech/accelergy_45nm.yaml``: the Timeloop
reference cases' values, each cited; ``configs/tech/cacti7_45nm_lstp.yaml``: CACTI 7 runs, generated
by ``benchmarks/cacti_table.py``; see ``docs/tech.md``):

* ``mac``: energy per MAC (pJ), area (µm²) and, optionally, leakage power (mW) per operand width (bits);
* ``sram``: per memory instance against its capacity (bytes): energy of one access (pJ; a read, and
  optionally a different ``write_energy_pj``), area (µm²) and, optionally, leakage power (mW). A point
  may also give the access width ``width_bits`` (bits moved per access; default ``ref_word_bits``) and
  the number of read/write ``ports`` (default 1): points with the same (width, ports) form one curve
  against capacity, and the curves must cover every (width, ports) pair of the table;
* ``dram_pj_per_64bit``: DRAM energy per 64 bits moved (pJ);
* ``noc_registers_per_pe``: 1-word pipeline registers per PE that make up the array interconnect.

Interpolation. Along capacity, values are a power law between neighbouring points (linear in
log-size and log-value); beyond the first/last point the end segment's power law is extended. Across
access widths and ports, values are interpolated linearly in log-width / log-ports and log-value
between the two neighbouring curves. Outside the table's width range the energy *per bit* of the
nearest width is kept (an access of ``w`` bits costs ``energy_pj · w / width_bits``, the rule of a
table with one width, where it reproduces the historical ``energy_pj · w / ref_word_bits``), while area
and leakage keep the nearest width's values; outside the ports range, the nearest ports' values. A
curve that starts at a larger capacity than another (CACTI's wide accesses start at 2 KiB, register
files at 2 B) is extended below its first point by its first segment's power law.

Leakage is all-or-nothing per list: every ``sram`` point gives ``leakage_mw`` or none does (likewise
``mac``); a table without leakage reports 0 mW everywhere, so static energy is 0 and every other
number is exactly that of the table without the field. Static energy = leakage power × powered time:
mW × ns = pJ (e.g. ``leak_mw * latency_cycles * 1e3 / clock_mhz`` pJ).

Load with :func:`load_tech` by shipped name (``accelergy_45nm``, ``cacti7_45nm_lstp``) or YAML path, as
named in :attr:`hdx.space.accelerator.HardwareParams.tech`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import Field, PrivateAttr, ValidationInfo, field_validator

from hdx.config import OmitDefaults, StrictModel, load_config

DEFAULT_TECH = "accelergy_45nm"


# Physical ranges (every value is also finite: NaN/inf are refused by StrictModel):
# energies 1e-6..1e6 pJ per access or MAC, areas 1e-6..1e12 µm² (1 m²), memory sizes up to 1 TiB,
# leakage 0..1e6 mW (1 kW).
_E = {"ge": 1e-6, "le": 1e6}
_A = {"ge": 1e-6, "le": 1e12}
_L = {"ge": 0.0, "le": 1e6}


class MacPoint(OmitDefaults):
    _optional = (("leakage_mw", 0.0),)
    bits: int = Field(ge=1, le=64, description="operand width (bits), 1..64")
    energy_pj: float = Field(**_E, description="energy per MAC (pJ), 1e-6..1e6")
    area_um2: float = Field(**_A, description="area of one MAC unit (µm²), 1e-6..1e12")
    leakage_mw: float = Field(0.0, **_L, description="leakage power of one MAC unit (mW), 0..1e6")


class SramPoint(OmitDefaults):
    _optional = (("width_bits", None), ("ports", 1), ("write_energy_pj", None), ("leakage_mw", 0.0))
    bytes: float = Field(ge=1e-3, le=float(1 << 40),
                         description="capacity of one instance (bytes), up to 1 TiB")
    energy_pj: float = Field(**_E, description="energy of one (read) access of width_bits bits (pJ), "
                             "1e-6..1e6")
    area_um2: float = Field(**_A, description="area of one instance (µm²), 1e-6..1e12")
    width_bits: int | None = Field(None, ge=1, le=1 << 16, description="bits moved per access, 1..65536 "
                                   "(default: the table's ref_word_bits)")
    ports: int = Field(1, ge=1, le=64, description="read/write ports, 1..64")
    write_energy_pj: float | None = Field(None, **_E, description="energy of one write access (pJ), "
                                          "1e-6..1e6 (default: energy_pj)")
    leakage_mw: float = Field(0.0, **_L, description="leakage power of one instance (mW), 0..1e6")


def _strictly_increasing(values: list[float], what: str) -> None:
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"{what} must be strictly increasing, got {values}")


def _all_or_none(values: list[float], what: str) -> None:
    given = sum(v > 0 for v in values)
    if 0 < given < len(values):
        raise ValueError(f"{what} leakage_mw must be given (> 0) for every point or for none; "
                         f"{given} of {len(values)} give it")


class _Curve:
    """One power-law curve against capacity, with its logs and slopes precomputed (float64 and float32)."""

    def __init__(self, xs: list[float], ys: list[float]):
        self.xs, self.ys = xs, ys
        self._by_dtype = {}
        for dt in (np.float64, np.float32):
            lx, ly = np.log(np.asarray(xs, dtype=dt)), np.log(np.asarray(ys, dtype=dt))
            self._by_dtype[dt] = (lx, ly, np.diff(ly) / np.diff(lx))

    def log_at(self, t: np.ndarray, dt) -> np.ndarray:
        """log of the curve at log-sizes ``t`` (end segments extended)."""
        lx, ly, slope = self._by_dtype[dt]
        i = np.clip(np.searchsorted(lx, t) - 1, 0, len(lx) - 2)
        return ly[i] + slope[i] * (t - lx[i])


class _SramGrid:
    """The sram points as curves against capacity, one per (width_bits, ports) pair."""

    def __init__(self, points: list[SramPoint], ref_word_bits: int):
        self.source, self.ref = points, ref_word_bits
        groups: dict[tuple[int, int], list[SramPoint]] = {}
        for p in points:
            groups.setdefault((p.width_bits or ref_word_bits, p.ports), []).append(p)
        self.widths = sorted({w for w, _ in groups})
        self.ports = sorted({n for _, n in groups})
        self.single = len(groups) == 1
        self.has_leak = any(p.leakage_mw > 0 for p in points)
        self.lw = np.log(np.asarray(self.widths, dtype=np.float64))
        self.lp = np.log(np.asarray(self.ports, dtype=np.float64))
        self.lists: dict[tuple[int, int], dict[str, tuple[list[float], list[float]]]] = {}
        self.curves: dict[tuple[int, int], dict[str, _Curve]] = {}
        for (w, n), pts in groups.items():
            xs = [p.bytes for p in pts]
            key = (self.widths.index(w), self.ports.index(n))
            self.lists[key] = {
                "read": (xs, [p.energy_pj for p in pts]),
                "write": (xs, [p.write_energy_pj or p.energy_pj for p in pts]),
                "area": (xs, [p.area_um2 for p in pts]),
                "leak": (xs, [p.leakage_mw for p in pts]),
            }
            self.curves[key] = {f: _Curve(*xy) for f, xy in self.lists[key].items()
                                if f != "leak" or self.has_leak}

    def __eq__(self, other: object) -> bool:  # a cache of the points: equal when built from equal points
        return isinstance(other, _SramGrid) and (self.ref, self.source) == (other.ref, other.source)

    __hash__ = None  # type: ignore[assignment]


def _scalar_bracket(values: list[int], v: float) -> tuple[int, float, float]:
    """(segment index, fraction 0..1 in log-space, v clamped to the range) of ``v`` on ascending
    ``values``; one value: (0, 0, that value)."""
    c = min(max(float(v), values[0]), values[-1])
    if len(values) == 1:
        return 0, 0.0, c
    i = min(max(bisect.bisect_right(values, c) - 1, 0), len(values) - 2)
    return i, math.log(c / values[i]) / math.log(values[i + 1] / values[i]), c


class TechTable(StrictModel):
    """A validated technology table (see the module docstring for the meaning of each field)."""

    name: str = Field(max_length=200)
    ref_word_bits: int = Field(16, ge=1, le=64, description="word width (bits) of an sram point that gives "
                               "no width_bits, 1..64")
    mac: list[MacPoint] = Field(min_length=1, max_length=256)
    sram: list[SramPoint] = Field(min_length=2, max_length=4096)
    dram_pj_per_64bit: float = Field(512.0, **_E, description="DRAM energy per 64 bits (pJ), 1e-6..1e6")
    noc_registers_per_pe: float = Field(3.0, ge=0, le=1000, description="1-word registers per PE for the "
                                        "NoC, 0..1000")
    _grid: _SramGrid | None = PrivateAttr(None)

    @field_validator("mac")
    @classmethod
    def _mac_sorted(cls, v: list[MacPoint]) -> list[MacPoint]:
        _strictly_increasing([p.bits for p in v], "mac bits")
        _all_or_none([p.leakage_mw for p in v], "mac")
        return v

    @field_validator("sram")
    @classmethod
    def _sram_grid(cls, v: list[SramPoint], info: ValidationInfo) -> list[SramPoint]:
        ref = info.data.get("ref_word_bits", 16)
        groups: dict[tuple[int, int], list[float]] = {}
        for p in v:
            groups.setdefault((p.width_bits or ref, p.ports), []).append(p.bytes)
        if len(groups) == 1:
            _strictly_increasing(next(iter(groups.values())), "sram bytes")
        for (w, n), sizes in sorted(groups.items()):
            where = f"sram bytes of the width_bits={w}, ports={n} points"
            _strictly_increasing(sizes, where)
            if len(sizes) < 2:
                raise ValueError(f"{where} need at least 2 capacities, got {sizes}")
        widths, ports = sorted({w for w, _ in groups}), sorted({n for _, n in groups})
        missing = [(w, n) for w in widths for n in ports if (w, n) not in groups]
        if missing:
            raise ValueError(f"sram points must cover every (width_bits, ports) pair of the table: "
                             f"add points for width_bits={missing[0][0]}, ports={missing[0][1]}")
        _all_or_none([p.leakage_mw for p in v], "sram")
        return v

    def model_post_init(self, context, /) -> None:
        self._grid = _SramGrid(self.sram, self.ref_word_bits)

    @property
    def _sram_grid_cache(self) -> _SramGrid:
        """The sram curves, built on first use (and again after a ``model_copy`` that changed them)."""
        g = self._grid
        if g is None or g.source is not self.sram or g.ref != self.ref_word_bits:
            g = self._grid = _SramGrid(self.sram, self.ref_word_bits)
        return g

    # ----- lookups (vectorised) -----------------------------------------------------------------
    @property
    def has_leakage(self) -> bool:
        """Whether the table gives any leakage (SRAM or MAC); without it every leakage lookup is 0 mW."""
        return self._sram_grid_cache.has_leak or any(p.leakage_mw > 0 for p in self.mac)

    @property
    def sram_widths_bits(self) -> tuple[int, ...]:
        """The access widths (bits) the sram points are given at, ascending."""
        return tuple(self._sram_grid_cache.widths)

    @property
    def sram_ports(self) -> tuple[int, ...]:
        """The port counts the sram points are given at, ascending."""
        return tuple(self._sram_grid_cache.ports)

    def _sram(self, field: str, size_bytes, width_bits, ports):
        """(value at the width clamped to the table's range, that clamped width in bits)."""
        g = self._sram_grid_cache
        x = np.asarray(size_bytes)
        dt = np.float32 if x.dtype == np.float32 else np.float64
        t = np.log(x.astype(dt, copy=False))
        if g.single:  # one curve (its logs and slopes kept: the arithmetic of _loglog)
            with np.errstate(over="ignore"):  # an overflow is inf, refused by hdx.cost.base.check_finite
                return np.exp(g.curves[(0, 0)][field].log_at(t, dt)), g.widths[0]
        if np.ndim(width_bits) == 0 and np.ndim(ports) == 0:  # the usual call: at most four curves
            iw, tw, wc = _scalar_bracket(g.widths, width_bits)
            ip, tp, _ = _scalar_bracket(g.ports, ports)
            terms = [(wa * wb, g.curves[(iw + a, ip + b)][field]) for a, wa in ((0, 1.0 - tw), (1, tw))
                     for b, wb in ((0, 1.0 - tp), (1, tp)) if wa * wb > 0]
            k, curve = terms[0]
            acc = curve.log_at(t, dt) if k == 1.0 else k * curve.log_at(t, dt)
            for k, curve in terms[1:]:
                acc = acc + k * curve.log_at(t, dt)
        else:  # widths or ports per element: every curve, then pick per element
            wc = np.clip(np.asarray(width_bits, dtype=np.float64), g.widths[0], g.widths[-1])
            iw, tw = _bracket(g.lw, np.log(wc))
            pc = np.clip(np.asarray(ports, dtype=np.float64), g.ports[0], g.ports[-1])
            ip, tp = _bracket(g.lp, np.log(pc))
            shape = np.broadcast_shapes(t.shape, iw.shape, ip.shape)
            table = np.stack([np.stack([np.broadcast_to(g.curves[(i, j)][field].log_at(t, dt), shape)
                                        for j in range(len(g.ports))]) for i in range(len(g.widths))])
            iw, tw, ip, tp = (np.broadcast_to(a, shape) for a in (iw, tw, ip, tp))
            idx = np.indices(shape)
            acc = sum(wa * wb * table[(iw + a, ip + b, *idx)]
                      for a, wa in ((0, 1.0 - tw), (1, tw)) for b, wb in ((0, 1.0 - tp), (1, tp)))
        with np.errstate(over="ignore"):  # an overflow is inf, refused by hdx.cost.base.check_finite
            return np.exp(acc).astype(dt, copy=False), wc

    def sram_energy_pj(self, size_bytes, word_bits: int, width_words=1, ports=1, *,
                       write: bool = False) -> np.ndarray:
        """Energy per ``word_bits``-bit word moved to or from an SRAM/RF of ``size_bytes`` (pJ/word).

        The memory moves ``width_words`` words per access through each of its ``ports`` ports; the energy
        of one access (:meth:`sram_access_energy_pj`) is shared by the words it moves, so this is the
        per-word cost when accesses are full width. ``write`` selects the write energy (default: read).
        Vectorised over ``size_bytes`` (and ``width_words``/``ports``); float32 in, float32 out. With a
        table of one width this is ``energy_pj(size) · word_bits / ref_word_bits`` for every
        ``width_words``, as before widths existed."""
        val, wc = self._sram("write" if write else "read", size_bytes,
                             np.multiply(width_words, word_bits), ports)
        return (val * (word_bits / wc)).astype(val.dtype, copy=False)

    def sram_access_energy_pj(self, size_bytes, width_bits, ports=1, *, write: bool = False) -> np.ndarray:
        """Energy of one access moving ``width_bits`` bits in an SRAM of ``size_bytes`` with ``ports``
        read/write ports (pJ per access; a write with ``write=True``)."""
        val, wc = self._sram("write" if write else "read", size_bytes, width_bits, ports)
        return (val * (np.asarray(width_bits, dtype=np.float64) / wc)).astype(val.dtype, copy=False)

    def sram_area_um2(self, size_bytes, width_words=1, ports=1, *,
                      word_bits: int | None = None) -> np.ndarray:
        """Area of one SRAM/RF instance of ``size_bytes`` whose accesses move ``width_words`` words of
        ``word_bits`` bits (default ``ref_word_bits``) through each of ``ports`` ports (µm²)."""
        return self._sram("area", size_bytes, np.multiply(width_words, word_bits or self.ref_word_bits),
                          ports)[0]

    def sram_leakage_mw(self, size_bytes, width_words=1, ports=1, *,
                        word_bits: int | None = None) -> np.ndarray:
        """Leakage (static) power of one SRAM/RF instance (mW), same arguments as :meth:`sram_area_um2`;
        0 mW for a table without leakage. Static energy = this × the time the memory is powered."""
        if not self._sram_grid_cache.has_leak:
            x = np.asarray(size_bytes)
            return np.zeros(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
        return self._sram("leak", size_bytes, np.multiply(width_words, word_bits or self.ref_word_bits),
                          ports)[0]

    def register_energy_pj(self, word_bits: int) -> float:
        """Energy of one access to a 1-word pipeline register (pJ)."""
        return float(self.sram_energy_pj(word_bits / 8, word_bits))

    def register_area_um2(self, word_bits: int) -> float:
        """Area of a 1-word pipeline register (µm²)."""
        return float(self.sram_area_um2(word_bits / 8))

    def register_leakage_mw(self, word_bits: int) -> float:
        """Leakage power of a 1-word pipeline register (mW; 0 for a table without leakage)."""
        return float(self.sram_leakage_mw(word_bits / 8, word_bits=word_bits))

    def mac_energy_pj(self, bits: int) -> float:
        """Energy of one MAC at ``bits`` operand width (pJ)."""
        return float(_loglog(bits, [p.bits for p in self.mac], [p.energy_pj for p in self.mac]))

    def mac_area_um2(self, bits: int) -> float:
        """Area of one MAC unit at ``bits`` operand width (µm²)."""
        return float(_loglog(bits, [p.bits for p in self.mac], [p.area_um2 for p in self.mac]))

    def mac_leakage_mw(self, bits: int) -> float:
        """Leakage power of one MAC unit at ``bits`` operand width (mW; 0 for a table without it)."""
        if not any(p.leakage_mw > 0 for p in self.mac):
            return 0.0
        return float(_loglog(bits, [p.bits for p in self.mac], [p.leakage_mw for p in self.mac]))

    def dram_energy_pj(self, word_bits: int) -> float:
        """DRAM energy per ``word_bits``-bit word (pJ)."""
        return self.dram_pj_per_64bit * word_bits / 64

    def flat_prices(self) -> TechTable:
        """This table with one energy per SRAM access at every capacity (that of the largest point; per
        width curve) and no leakage: the prices under which only a mapping's access counts can change
        its energy (used to check that more of a resource never costs more accesses)."""
        e = self.sram[-1].energy_pj
        sram = [p.model_copy(update={"energy_pj": e, "write_energy_pj": None, "leakage_mw": 0.0})
                for p in self.sram]
        mac = [p.model_copy(update={"leakage_mw": 0.0}) for p in self.mac]
        return type(self).model_validate({**self.model_dump(mode="json"),
                                          "sram": [p.model_dump(mode="json") for p in sram],
                                          "mac": [p.model_dump(mode="json") for p in mac],
                                          "name": f"{self.name}-flat"})

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _bracket(axis: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``i`` of the segment of ``axis`` (ascending logs) holding ``t`` and the fraction of the way
    from ``axis[i]`` to ``axis[i+1]`` (0..1; ``t`` is already clamped to the axis). One point: (0, 0)."""
    if len(axis) == 1:
        return np.zeros(np.shape(t), dtype=np.intp), np.zeros(np.shape(t))
    i = np.clip(np.searchsorted(axis, t) - 1, 0, len(axis) - 2)
    return i, np.clip((t - axis[i]) / (axis[i + 1] - axis[i]), 0.0, 1.0)


def _loglog(x, xs: list[float], ys: list[float]) -> np.ndarray:
    """Piecewise power-law interpolation through (xs, ys); end segments extended; one point: constant.
    Computed in float32 when ``x`` is float32, else in float64."""
    x = np.asarray(x)
    dt = np.float32 if x.dtype == np.float32 else np.float64  # float32 in, float32 out (faster)
    x = x.astype(dt, copy=False)
    if len(xs) == 1:
        return np.full_like(x, ys[0])
    lx, ly = np.log(np.asarray(xs, dtype=dt)), np.log(np.asarray(ys, dtype=dt))
    t = np.log(x)
    i = np.clip(np.searchsorted(lx, t) - 1, 0, len(lx) - 2)
    slope = (ly[i + 1] - ly[i]) / (lx[i + 1] - lx[i])
    with np.errstate(over="ignore"):  # an overflow is inf, refused by hdx.cost.base.check_finite
        return np.exp(ly[i] + slope * (t - lx[i]))


@lru_cache(maxsize=16)
def _load_cached(name_or_path: str) -> TechTable:
    return load_config(TechTable, name_or_path, "tech")


def load_tech(name_or_path: str | Path = DEFAULT_TECH) -> TechTable:
    """Load a technology table by shipped name or YAML path (validated; one-line errors).

    Shipped names are cached; a YAML path is read afresh each time.
    """
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return load_config(TechTable, p, "tech")
    return _load_cached(str(name_or_path))
