"""Technology tables: per-access energy and area of MACs and memories (Accelergy style).

A :class:`TechTable` holds real table points (see ``configs/tech/accelergy_45nm.yaml``, every point
cites the reference case it comes from):

* ``mac``: energy per MAC (pJ) and area (µm²) per operand width (bits);
* ``sram``: per-access energy of one ``ref_word_bits`` word (pJ) and area per instance (µm²) against
  the capacity (bytes), from a 1-word register up to a 128 KiB global buffer;
* ``dram_pj_per_64bit``: DRAM energy per 64 bits moved (pJ);
* ``noc_registers_per_pe``: 1-word pipeline registers per PE that make up the array interconnect.

Values between table points are interpolated in log(size) as a power law (linear in log-size and
log-value); beyond the first/last point the end segment's power law is extended. An access of a
``w``-bit word costs ``energy_pj · w / ref_word_bits`` (energy scales with the bits moved).

Load with :func:`load_tech` by shipped name (``accelergy_45nm``) or YAML path, as named in
:attr:`hdx.space.accelerator.HardwareParams.tech`.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import Field, field_validator

from hdx.config import StrictModel, load_config

DEFAULT_TECH = "accelergy_45nm"


# Physical ranges (every value is also finite: NaN/inf are refused by StrictModel):
# energies 1e-6..1e6 pJ per access or MAC, areas 1e-6..1e12 µm² (1 m²), memory sizes up to 1 TiB.
_E = {"ge": 1e-6, "le": 1e6}
_A = {"ge": 1e-6, "le": 1e12}


class MacPoint(StrictModel):
    bits: int = Field(ge=1, le=64, description="operand width (bits), 1..64")
    energy_pj: float = Field(**_E, description="energy per MAC (pJ), 1e-6..1e6")
    area_um2: float = Field(**_A, description="area of one MAC unit (µm²), 1e-6..1e12")


class SramPoint(StrictModel):
    bytes: float = Field(ge=1e-3, le=float(1 << 40),
                         description="capacity of one instance (bytes), up to 1 TiB")
    energy_pj: float = Field(**_E, description="energy per access of one ref_word_bits word (pJ), 1e-6..1e6")
    area_um2: float = Field(**_A, description="area of one instance (µm²), 1e-6..1e12")


def _strictly_increasing(values: list[float], what: str) -> None:
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"{what} must be strictly increasing, got {values}")


class TechTable(StrictModel):
    """A validated technology table (see the module docstring for the meaning of each field)."""

    name: str = Field(max_length=200)
    ref_word_bits: int = Field(16, ge=1, le=64, description="word width the sram energies refer to "
                               "(bits), 1..64")
    mac: list[MacPoint] = Field(min_length=1, max_length=256)
    sram: list[SramPoint] = Field(min_length=2, max_length=256)
    dram_pj_per_64bit: float = Field(512.0, **_E, description="DRAM energy per 64 bits (pJ), 1e-6..1e6")
    noc_registers_per_pe: float = Field(3.0, ge=0, le=1000, description="1-word registers per PE for the "
                                        "NoC, 0..1000")

    @field_validator("mac")
    @classmethod
    def _mac_sorted(cls, v: list[MacPoint]) -> list[MacPoint]:
        _strictly_increasing([p.bits for p in v], "mac bits")
        return v

    @field_validator("sram")
    @classmethod
    def _sram_sorted(cls, v: list[SramPoint]) -> list[SramPoint]:
        _strictly_increasing([p.bytes for p in v], "sram bytes")
        return v

    # ----- lookups (vectorised) -----------------------------------------------------------------
    def sram_energy_pj(self, size_bytes, word_bits: int) -> np.ndarray:
        """Energy of one ``word_bits``-bit access to an SRAM/RF of ``size_bytes`` (pJ)."""
        x = [p.bytes for p in self.sram]
        y = [p.energy_pj for p in self.sram]
        return _loglog(size_bytes, x, y) * (word_bits / self.ref_word_bits)

    def sram_area_um2(self, size_bytes) -> np.ndarray:
        """Area of one SRAM/RF instance of ``size_bytes`` (µm²)."""
        return _loglog(size_bytes, [p.bytes for p in self.sram], [p.area_um2 for p in self.sram])

    def register_energy_pj(self, word_bits: int) -> float:
        """Energy of one access to a 1-word pipeline register (pJ)."""
        return float(self.sram_energy_pj(word_bits / 8, word_bits))

    def register_area_um2(self, word_bits: int) -> float:
        return float(self.sram_area_um2(word_bits / 8))

    def mac_energy_pj(self, bits: int) -> float:
        """Energy of one MAC at ``bits`` operand width (pJ)."""
        return float(_loglog(bits, [p.bits for p in self.mac], [p.energy_pj for p in self.mac]))

    def mac_area_um2(self, bits: int) -> float:
        """Area of one MAC unit at ``bits`` operand width (µm²)."""
        return float(_loglog(bits, [p.bits for p in self.mac], [p.area_um2 for p in self.mac]))

    def dram_energy_pj(self, word_bits: int) -> float:
        """DRAM energy per ``word_bits``-bit word (pJ)."""
        return self.dram_pj_per_64bit * word_bits / 64

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


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
