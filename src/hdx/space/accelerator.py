"""Accelerator design space (docs/design.md#the-accelerator-space).

Template: DRAM ↔ global buffer (GLB) ↔ PE array of ``pe_x`` × ``pe_y`` PEs, each with an RF of
``rf_bytes`` bytes and one MAC; ``dataflow`` ∈ {ws, os, rs}. The RF is the per-PE storage of the operands
the dataflow keeps in the PE (WS: weights, OS: partial sums, RS: three scratchpads for weights, inputs
and partial sums in the proportions ``hardware.rs_spads``); or the storage is given per operand
(``pad_w``, ``pad_i``, ``pad_o`` bytes), and ``rf_bytes`` is their total. The knobs and their values come from
YAML (:class:`AcceleratorSpaceConfig`); a knob with one value is fixed, with several it is searched.
Fixed hardware parameters (clock, word width, bandwidths, technology table) are in
:class:`HardwareParams`.

Grid order is row-major over (pe_x, pe_y, rf_bytes, pad_w, pad_i, pad_o, dataflow, glb_kib, glb_bw)
(the memories last): index ⇄ config is a
mixed-radix number, so the whole grid enumerates without Python loops, and any slice of indices of a
space too large to hold at once becomes an :class:`AccelTable` on its own (:meth:`AcceleratorSpace.table_of`).
A numeric knob is a list or a range (``{from: 4, to: 64, step: 2}``, or ``{from: 8, to: 4096, times: 2}``
for log steps).

Text form of one accelerator: ``16x16,rf=16,df=ws`` (PEx × PEy), or with per-operand storage
``16x16,pads=448/24/32,df=rs`` (weights/inputs/psums bytes per PE), optionally ``,glb=128`` (KiB) and
``,bw=32`` (GLB ↔ array words per cycle; absent: the template's ``hardware.glb_words_per_cycle``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from hdx.config import OmitDefaults, StrictModel, load_config
from hdx.errors import HDXError

DEFAULT_ACCEL_SPACE = "eyeriss_like"
Dataflow = Literal["ws", "os", "rs"]
DATAFLOWS: tuple[str, ...] = ("ws", "os", "rs")
KNOBS: tuple[str, ...] = ("pe_x", "pe_y", "rf_bytes", "pad_w", "pad_i", "pad_o", "dataflow", "glb_kib",
                          "glb_bw")
#: per-operand storage knobs (bytes per PE: weights, inputs, partial sums); 0 = no pad (a 1-word register)
PADS: tuple[str, ...] = ("pad_w", "pad_i", "pad_o")
#: the operands (0 weights, 1 inputs, 2 partial sums, as PADS) each dataflow keeps in its PE-local storage
KEEPS: dict[str, tuple[int, ...]] = {"ws": (0,), "os": (2,), "rs": (0, 1, 2)}

#: physical range of every accelerator field (inclusive): a value outside is a one-line error, so no
#: size can overflow int64 arithmetic or allocate absurd memory downstream
BOUNDS: dict[str, tuple[int, int]] = {
    "pe_x": (1, 4096),            # PE array width (PEs)
    "pe_y": (1, 4096),            # PE array height (PEs)
    "rf_bytes": (1, 1 << 20),     # register file per PE: 1 B .. 1 MiB
    "glb_kib": (1, 1 << 20),      # global buffer: 1 KiB .. 1 GiB
}
#: one operand's storage per PE (bytes): 0 (a 1-word register) .. 1 MiB
PAD_BOUNDS: tuple[int, int] = (0, 1 << 20)
#: GLB <-> array bandwidth of one design (words per cycle), as HardwareParams.glb_words_per_cycle
BW_BOUNDS: tuple[float, float] = (1e-3, 1e12)
#: the most accelerators one cost table (and so the exact oracle and one in-memory AccelTable of the
#: whole space) holds; larger spaces are searched in slices (hdx.cost.hwsearch)
MAX_GRID = 200_000
#: the most accelerators one space may describe (indices stay far inside int64)
MAX_SPACE = 10**12
#: the most values one knob may list or one range may expand to
MAX_VALUES = 4096
_MAX_TEXT = 200


@dataclass(frozen=True)
class Accelerator:
    """One accelerator configuration. ``rf_bytes`` per PE (bytes), ``glb_kib`` (KiB), ``glb_bw`` the GLB
    ↔ array bandwidth (words per cycle; ``None``: the template's ``hardware.glb_words_per_cycle``).
    ``pads``: the per-PE storage per operand (weights, inputs, partial sums; bytes, 0 = a 1-word register)
    instead of one RF split by the dataflow; ``rf_bytes`` is then their total (give it as 0 or as that)."""

    pe_x: int
    pe_y: int
    rf_bytes: int
    dataflow: Dataflow
    glb_kib: int = 128
    glb_bw: float | None = None
    pads: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.pads is not None:
            pads = self.pads
            if (not isinstance(pads, tuple | list) or len(pads) != 3
                    or any(not isinstance(v, int | np.integer) or isinstance(v, bool) for v in pads)):
                raise HDXError(f"accelerator field 'pads' must be three integers (weights, inputs, psums "
                               f"bytes per PE), got {_short(pads)}")
            lo, hi = PAD_BOUNDS
            for name, v in zip(PADS, pads, strict=True):
                if not lo <= v <= hi:
                    raise HDXError(f"accelerator field '{name}' must be in {lo}..{hi} bytes, got {_short(v)}")
            total = int(sum(pads))
            if total == 0:
                raise HDXError("accelerator field 'pads' gives no storage (0/0/0): give the bytes per PE of "
                               "at least the operands the dataflow keeps (WS: weights, OS: psums, RS: all "
                               "three)")
            if self.rf_bytes not in (0, total):
                raise HDXError(f"accelerator: rf_bytes ({_short(self.rf_bytes)}) must be 0 or the pads' "
                               f"total {total} when pads are given")
            object.__setattr__(self, "pads", tuple(int(v) for v in pads))
            object.__setattr__(self, "rf_bytes", total)
        for f in ("pe_x", "pe_y", "rf_bytes", "glb_kib"):
            v = getattr(self, f)
            if not isinstance(v, int | np.integer) or isinstance(v, bool):
                raise HDXError(f"accelerator field '{f}' must be an integer, got {v!r}")
            lo, hi = BOUNDS[f]
            if not lo <= v <= hi:
                raise HDXError(f"accelerator field '{f}' must be in {lo}..{hi}, got {_short(v)}")
        if self.dataflow not in DATAFLOWS:
            raise HDXError(f"unknown dataflow '{self.dataflow}': use one of {', '.join(DATAFLOWS)}")
        if self.glb_bw is not None:
            bw = self.glb_bw
            ok = isinstance(bw, int | float | np.integer | np.floating) and not isinstance(bw, bool)
            if not ok or not BW_BOUNDS[0] <= float(bw) <= BW_BOUNDS[1]:
                raise HDXError(f"accelerator field 'glb_bw' must be a number of words per cycle in "
                               f"{BW_BOUNDS[0]:g}..{BW_BOUNDS[1]:g}, got {_short(bw)}")
            object.__setattr__(self, "glb_bw", float(bw))

    def bw(self, hardware: HardwareParams) -> float:
        """The GLB ↔ array bandwidth of this design (words per cycle): its own, else the template's."""
        return self.glb_bw if self.glb_bw is not None else hardware.glb_words_per_cycle

    @property
    def num_pes(self) -> int:
        return self.pe_x * self.pe_y

    def rf_bytes_kept(self, hardware: HardwareParams) -> float:
        """Bytes of the one per-PE RF of a WS or OS design: the storage of the operand it keeps."""
        return self.storage(hardware)[0][KEEPS[self.dataflow][0]]

    def storage(self, hardware: HardwareParams) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-PE storage for weights, inputs and partial sums: ``(bytes, words)`` (see
        :meth:`AccelTable.storage`, the one place it is derived)."""
        nbytes, words = AccelTable.from_accels([self]).storage(hardware)
        return tuple(float(v[0]) for v in nbytes), tuple(float(v[0]) for v in words)  # type: ignore[return-value]

    @property
    def pad_w(self) -> int:
        """Weight storage per PE (bytes) when given per operand, else 0 (the RF is split by the dataflow)."""
        return self.pads[0] if self.pads is not None else 0

    @property
    def pad_i(self) -> int:
        return self.pads[1] if self.pads is not None else 0

    @property
    def pad_o(self) -> int:
        return self.pads[2] if self.pads is not None else 0

    @property
    def glb_bytes(self) -> int:
        return self.glb_kib * 1024

    def text(self, with_glb: bool = False) -> str:
        store = f"rf={self.rf_bytes}" if self.pads is None else "pads=" + "/".join(map(str, self.pads))
        s = f"{self.pe_x}x{self.pe_y},{store},df={self.dataflow}"
        s += f",glb={self.glb_kib}" if with_glb else ""
        return s + (f",bw={self.glb_bw:g}" if self.glb_bw is not None else "")

    def __str__(self) -> str:
        return self.text(with_glb=self.glb_kib != 128)

    @classmethod
    def parse(cls, text: str, default_glb_kib: int = 128, default_glb_bw: float | None = None) -> Accelerator:
        """Parse ``PExxPEy,rf=BYTES|pads=W/I/O,df=ws|os|rs[,glb=KIB][,bw=WORDS_PER_CYCLE]``."""
        fmt = ("expected e.g. '16x16,rf=16,df=ws' (PExxPEy,rf=bytes or pads=weights/inputs/psums bytes,"
               "df=ws|os|rs[,glb=KiB][,bw=words/cycle])")
        if not isinstance(text, str) or len(text) > _MAX_TEXT:
            raise HDXError(f"accelerator text too long ({len(text)} characters); {fmt}")
        parts = [p.strip() for p in text.strip().lower().split(",") if p.strip()]
        if not parts:
            raise HDXError(f"empty accelerator text: {fmt}")
        m = re.fullmatch(r"([0-9]+)x([0-9]+)", parts[0])
        if not m:
            raise HDXError(f"malformed accelerator '{text}': array size '{parts[0]}' is not PExxPEy; {fmt}")
        fields: dict[str, str] = {}
        for p in parts[1:]:
            key, sep, val = p.partition("=")
            if not sep or key not in ("rf", "pads", "df", "glb", "bw"):
                raise HDXError(f"malformed accelerator '{text}': unknown part '{p}'; {fmt}")
            if key in fields:
                raise HDXError(f"malformed accelerator '{text}': '{key}' given twice")
            fields[key] = val
        if ("rf" in fields) == ("pads" in fields):
            raise HDXError(f"malformed accelerator '{text}': give one of 'rf=' and 'pads='; {fmt}")
        if "df" not in fields:
            raise HDXError(f"malformed accelerator '{text}': missing 'df='; {fmt}")
        pads: tuple[int, ...] | None = None
        if "pads" in fields:
            if not re.fullmatch(r"[0-9]{1,8}/[0-9]{1,8}/[0-9]{1,8}", fields["pads"]):
                raise HDXError(f"malformed accelerator '{text}': pads '{_short(fields['pads'])}' must be "
                               f"three byte counts W/I/O (weights, inputs, psums per PE), e.g. "
                               f"pads=448/24/32; {fmt}")
            pads = tuple(int(v) for v in fields["pads"].split("/"))
        num = {"pe_x": m.group(1), "pe_y": m.group(2), "rf_bytes": fields.get("rf", "0"),
               "glb_kib": fields.get("glb", str(default_glb_kib))}
        for f, v in num.items():
            if not re.fullmatch(r"[0-9]{1,12}", v) or (f == "rf_bytes" and pads is None and int(v) == 0):
                lo, hi = BOUNDS[f]
                raise HDXError(f"malformed accelerator '{text}': {f} '{_short(v)}' must be an integer in "
                               f"{lo}..{hi}; {fmt}")
        bw: float | None = default_glb_bw
        if "bw" in fields:
            if not re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,6})?", fields["bw"]):
                raise HDXError(f"malformed accelerator '{text}': bw '{_short(fields['bw'])}' must be a "
                               f"number of words per cycle in {BW_BOUNDS[0]:g}..{BW_BOUNDS[1]:g}; {fmt}")
            bw = float(fields["bw"])
        return cls(int(num["pe_x"]), int(num["pe_y"]), int(num["rf_bytes"]), fields["df"],  # type: ignore[arg-type]
                   int(num["glb_kib"]), bw, pads)  # type: ignore[arg-type]


def _short(v: object) -> str:
    t = str(v)
    return t if len(t) <= 24 else t[:20] + "..."


def expand_range(v, integer: bool):
    """A knob's values from YAML: a list as it is, or a range ``{from: A, to: B, step: S}`` (A, A+S, …
    ≤ B) or ``{from: A, to: B, times: F}`` (A, A·F, A·F², … ≤ B; rounded to integers for integer knobs).
    The count is checked (≤ :data:`MAX_VALUES`) before any value is made."""
    if not isinstance(v, dict):
        return v
    keys = set(v)
    if not {"from", "to"} <= keys or len(keys & {"step", "times"}) != 1 or keys - {"from", "to", "step",
                                                                                      "times"}:
        raise ValueError("a range is {from: A, to: B, step: S} or {from: A, to: B, times: F}")
    nums = {}
    for k, x in v.items():
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise ValueError(f"range '{k}' must be a finite number, got {_short(x)}")
        if integer and k in ("from", "to", "step") and x != int(x):
            raise ValueError(f"range '{k}' must be an integer for this knob, got {x}")
        nums[k] = x
    a, b = nums["from"], nums["to"]
    if not 0 < a <= b:
        raise ValueError(f"range needs 0 < from <= to, got from {a}, to {b}")
    if "step" in nums:
        if not nums["step"] > 0:
            raise ValueError(f"range step must be > 0, got {nums['step']}")
        n = math.floor((b - a) / nums["step"] * (1 + 1e-12)) + 1
    else:
        if not nums["times"] > 1:
            raise ValueError(f"range times must be > 1, got {nums['times']}")
        n = math.floor(math.log(b / a) / math.log(nums["times"]) * (1 + 1e-12)) + 1
    if n > MAX_VALUES:
        raise ValueError(f"the range has {n} values, more than {MAX_VALUES}")
    if "step" in nums:
        vals = [a + i * nums["step"] for i in range(n)]
    else:
        vals = [a * nums["times"] ** i for i in range(n)]
    if integer:
        vals = list(dict.fromkeys(int(round(x)) for x in vals))
    return vals


class Knobs(OmitDefaults):
    """Values per knob; one value = fixed, several = searched. Each numeric knob is a list or a range
    (:func:`expand_range`). Ranges: :data:`BOUNDS`; at most :data:`MAX_SPACE` accelerators in all (and
    :data:`MAX_GRID` where a whole cost table is built)."""

    _optional = (("glb_bw", None), ("rf_bytes", None), ("pad_w", None), ("pad_i", None), ("pad_o", None))
    pe_x: list[int] = Field(min_length=1, max_length=MAX_VALUES, description="PE array widths, 1..4096")
    pe_y: list[int] = Field(min_length=1, max_length=MAX_VALUES, description="PE array heights, 1..4096")
    rf_bytes: list[int] | None = Field(None, min_length=1, max_length=1024, description=(
        "RF bytes per PE, 1..1048576, split by the dataflow (WS: weights, OS: psums, RS: hardware.rs_spads); "
        "or give the storage per operand: pad_w, pad_i, pad_o"))
    pad_w: list[int] | None = Field(None, min_length=1, max_length=1024, description=(
        "weight storage per PE (bytes), 0..1048576 (0: a 1-word register); with pad_i and pad_o, instead of "
        "rf_bytes"))
    pad_i: list[int] | None = Field(None, min_length=1, max_length=1024, description="input storage per PE "
                                    "(bytes), 0..1048576")
    pad_o: list[int] | None = Field(None, min_length=1, max_length=1024, description="partial-sum storage "
                                    "per PE (bytes), 0..1048576")
    dataflow: list[Dataflow] = Field(min_length=1, max_length=3)
    glb_kib: list[int] = Field([128], min_length=1, max_length=1024, description="GLB KiB, 1..1048576")
    glb_bw: list[float] | None = Field(None, min_length=1, max_length=1024, description=(
        "GLB <-> array bandwidth per design (words per cycle), 0.001..1e12; absent: the template's "
        "hardware.glb_words_per_cycle"))

    @field_validator("pe_x", "pe_y", "rf_bytes", *PADS, "glb_kib", "glb_bw", mode="before")
    @classmethod
    def _ranges(cls, v, info):
        return expand_range(v, integer=info.field_name != "glb_bw")

    @field_validator("pe_x", "pe_y", "rf_bytes", *PADS, "glb_kib", "glb_bw")
    @classmethod
    def _bounded_unique(cls, v: list | None, info) -> list | None:
        if v is None:
            return v
        lo, hi = PAD_BOUNDS if info.field_name in PADS else BOUNDS.get(info.field_name, BW_BOUNDS)
        bad = [x for x in v if not lo <= x <= hi]
        if bad:
            raise ValueError(f"values must be in {lo:g}..{hi:g}, got {_short(bad[0])}")
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct, got {_short(v)}")
        return sorted(v)

    @property
    def per_operand(self) -> bool:
        """The storage is given per operand (pad_w, pad_i, pad_o) rather than as one RF."""
        return self.pad_w is not None

    @property
    def size(self) -> int:
        n = len(self.pe_x) * len(self.pe_y) * len(self.dataflow) * len(self.glb_kib)
        store = (len(self.pad_w) * len(self.pad_i) * len(self.pad_o) if self.per_operand  # type: ignore[arg-type]
                 else len(self.rf_bytes or ()))
        return n * store * (len(self.glb_bw) if self.glb_bw is not None else 1)

    @model_validator(mode="after")
    def _one_storage_form(self) -> Knobs:
        pads = [p for p in PADS if getattr(self, p) is not None]
        if pads and len(pads) < 3:
            missing = [p for p in PADS if p not in pads]
            raise ValueError(f"per-operand storage needs pad_w, pad_i and pad_o; missing "
                             f"{', '.join(missing)}")
        if pads and self.rf_bytes is not None:
            raise ValueError("give rf_bytes (one RF per PE) or pad_w, pad_i and pad_o (storage per operand), "
                             "not both")
        if not pads and self.rf_bytes is None:
            raise ValueError("rf_bytes is missing: give the RF bytes per PE, or pad_w, pad_i and pad_o")
        return self

    @model_validator(mode="after")
    def _grid_size(self) -> Knobs:
        if self.size > MAX_SPACE:
            raise ValueError(f"the space has {self.size} accelerators, more than {MAX_SPACE}; fix some knobs")
        return self

    @field_validator("dataflow")
    @classmethod
    def _unique_df(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct, got {v}")
        return [d for d in DATAFLOWS if d in v]


# the values of HardwareParams.glb_buffering, glb_port and psum_port (each field's description says what
# they mean; docs/cost-model.md, "Overlap" and "Mapper")
GlbBuffering = Literal["double", "single", "overlap", "zigzag", "mixed"]
GlbPort = Literal["step", "fill", "packed", "burst"]
PsumPort = Literal["free", "shared"]
GlbReuse = Literal["layer", "tile"]


class HardwareParams(OmitDefaults):
    """Fixed parameters of the template (not searched). Every number is finite and within a physical
    range (given in each description); anything else is a one-line config error. The GLB buffering and
    the ports (``glb_buffering``, ``glb_port``, ``psum_port``) and the reuse (``glb_reuse``) are left out
    of the serialised form at their defaults, so a file without them fingerprints as it did."""

    _optional = (("glb_buffering", "double"), ("glb_port", "fill"), ("psum_port", "shared"),
                 ("glb_reuse", "layer"))

    clock_mhz: float = Field(200.0, ge=1, le=10_000, description="array and GLB clock (MHz), 1 MHz..10 GHz")
    word_bits: int = Field(16, ge=1, le=64, description="word width of weights, inputs and outputs "
                           "(bits), 1..64")
    glb_words_per_cycle: float = Field(32.0, ge=1e-3, le=1e12, description="GLB <-> array bandwidth "
                                       "(words/cycle), 0.001..1e12 (1e9+: unlimited)")
    dram_bytes_per_cycle: float = Field(16.0, ge=1e-3, le=1e12, description="DRAM <-> GLB bandwidth "
                                        "(bytes/cycle), 0.001..1e12 (1e9+: unlimited)")
    tech: str = Field("accelergy_45nm", max_length=4096, description="technology table name or YAML path")
    noc: Literal["multicast", "forwarding"] = Field(
        "multicast", description="array interconnect: GLB multicast + spatial reduction only, or also "
                                 "input forwarding between neighbouring PEs (costed: hdx.cost.analytical)")

    operand_latch: bool = Field(
        True, description="the MAC keeps its last weight and input: a PE reads one from its RF/register only "
        "when it changes (once per run of the innermost PE loops it does not depend on), as ZigZag assumes; "
        "false: every MAC re-reads both, as Timeloop assumes. Partial sums are read and written every MAC")

    rs_spads: tuple[float, float, float] = Field(
        (192.0, 12.0, 16.0), description="RS only: the per-PE RF (rf_bytes) is three fixed scratchpads, for "
        "weights, inputs and partial sums, sized in these proportions (Eyeriss: 192, 12 and 16 words); the "
        "input and partial-sum pads hold at least one word each, the weight pad the rest. Each > 0")

    glb_buffering: GlbBuffering = Field(
        "double", description="how the GLB stores a tile replaced during a layer: double (a second copy "
        "beside it, DRAM transfers overlap the array), single (one copy, transfers stall the array), "
        "overlap (one copy, transfers overlapped: Timeloop's steady state), zigzag (one copy, a second "
        "where it fits, the array waits only for what a transfer needs beyond its update window: ZigZag's) "
        "or mixed (copies and schedules searched for the least latency)")
    glb_port: GlbPort = Field(
        "fill", description="how the GLB <-> array port's accesses carry words: fill (a PE-local tile's fill "
        "is one aligned burst), step (each access step of an operand takes its own accesses), packed (words "
        "of consecutive steps share an access) or burst (a fill at an arbitrary alignment)")
    psum_port: PsumPort = Field(
        "shared", description="the PE's partial-sum store: shared (one read and one write port, which the "
        "MAC and the psums moved to and from the GLB share) or free (those moves take no port cycles)")
    glb_reuse: GlbReuse = Field(
        "layer", description="how far a PE-local tile is reused across the GLB-level loops: layer (over the "
        "whole layer, as if the DRAM tiles did not cut those loops) or tile (only within one DRAM tile, as "
        "the two-level loop nest has it and ZigZag counts; the DRAM schedule is then chosen with each loop "
        "order; needs glb_buffering double, single, overlap or zigzag)")

    @model_validator(mode="after")
    def _reuse_with_buffering(self) -> HardwareParams:
        if self.glb_reuse == "tile" and self.glb_buffering == "mixed":
            raise ValueError(f"glb_reuse: tile chooses the DRAM schedule with each loop order and needs "
                             f"glb_buffering double, single, overlap or zigzag, got {self.glb_buffering}; "
                             f"set "
                             f"glb_reuse: layer or another glb_buffering")
        return self

    @field_validator("rs_spads")
    @classmethod
    def _positive_spads(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(not x > 0 for x in v):
            raise ValueError(f"rs_spads must be three proportions > 0 (weights, inputs, psums), "
                             f"got {list(v)}")
        return v

    @property
    def word_bytes(self) -> float:
        return self.word_bits / 8

    @property
    def dram_cycles_per_word(self) -> float:
        """DRAM <-> GLB cycles per word moved (word bytes / DRAM bytes per cycle)."""
        return self.word_bytes / self.dram_bytes_per_cycle

    def glb_tile_words(self, glb_bytes):
        """The usable half of a GLB of ``glb_bytes`` (a scalar or an array), in words: what a
        double-buffered tile may hold (the other half receives the next one)."""
        return glb_bytes * 8 / self.word_bits / 2

    def spad_words(self, rf_words):
        """RS scratchpads (weights, inputs, partial sums) in words for an RF of ``rf_words`` words
        (a scalar or an array): inputs and psums ``max(1, floor(rf_words · share))``, weights the rest
        (at least one word when ``rf_words >= 3``)."""
        words = np.asarray(rf_words, dtype=float)
        _, i, o = self.rs_spads
        tot = sum(self.rs_spads)
        i_w, o_w = np.maximum(np.floor(words * i / tot), 1.0), np.maximum(np.floor(words * o / tot), 1.0)
        return words - i_w - o_w, i_w, o_w


class AcceleratorSpaceConfig(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    knobs: Knobs
    hardware: HardwareParams = HardwareParams()


class AccelTable:
    """Struct-of-arrays view of accelerators (numpy columns): ``pe_x pe_y rf_bytes dataflow glb_bytes``
    (int64; ``dataflow`` is the index into :data:`DATAFLOWS`), ``glb_bw`` (float64, words per cycle;
    0 = the template's ``hardware.glb_words_per_cycle``, see :meth:`bandwidth`) and ``pad_w pad_i pad_o``
    (int64 bytes per PE; all 0 where the RF is split by the dataflow, see :meth:`storage`)."""

    __slots__ = ("pe_x", "pe_y", "rf_bytes", "dataflow", "glb_bytes", "glb_bw", "pad_w", "pad_i", "pad_o")

    def __init__(self, pe_x, pe_y, rf_bytes, dataflow, glb_bytes, glb_bw=None, pads=None):
        self.pe_x = np.asarray(pe_x, dtype=np.int64)
        self.pe_y = np.asarray(pe_y, dtype=np.int64)
        self.rf_bytes = np.asarray(rf_bytes, dtype=np.int64)
        self.dataflow = np.asarray(dataflow, dtype=np.int64)
        self.glb_bytes = np.asarray(glb_bytes, dtype=np.int64)
        self.glb_bw = (np.zeros(self.pe_x.shape) if glb_bw is None
                       else np.broadcast_to(np.asarray(glb_bw, dtype=np.float64), self.pe_x.shape))
        zero = np.zeros(self.pe_x.shape, dtype=np.int64)
        self.pad_w, self.pad_i, self.pad_o = ((zero, zero, zero) if pads is None else
                                              (np.broadcast_to(np.asarray(v, dtype=np.int64), self.pe_x.shape)
                                               for v in pads))

    @classmethod
    def from_accels(cls, accels: list[Accelerator] | tuple[Accelerator, ...]) -> AccelTable:
        pads = None
        if any(a.pads is not None for a in accels):
            pads = tuple([getattr(a, p) for a in accels] for p in PADS)
        return cls([a.pe_x for a in accels], [a.pe_y for a in accels], [a.rf_bytes for a in accels],
                   [DATAFLOWS.index(a.dataflow) for a in accels], [a.glb_bytes for a in accels],
                   [a.glb_bw or 0.0 for a in accels], pads)

    def __len__(self) -> int:
        return int(self.pe_x.shape[0])

    def __getitem__(self, idx) -> AccelTable:
        return AccelTable(self.pe_x[idx], self.pe_y[idx], self.rf_bytes[idx], self.dataflow[idx],
                          self.glb_bytes[idx], self.glb_bw[idx],
                          (self.pad_w[idx], self.pad_i[idx], self.pad_o[idx]))

    @property
    def per_operand(self) -> np.ndarray:
        """Per design: its storage is given per operand (bool [A])."""
        return (self.pad_w + self.pad_i + self.pad_o) > 0

    def storage(self, hardware: HardwareParams) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Per-PE storage of every design for weights, inputs and partial sums: ``(bytes, words)``, each a
        triple of float64 [A] arrays (0: no storage, the operand has a 1-word register). Given per operand,
        as given (words rounded down); else from the one RF: WS keeps weights in it, OS partial sums, RS
        splits it into three scratchpads (:meth:`HardwareParams.spad_words`)."""
        wb = hardware.word_bits
        rf = self.rf_bytes.astype(np.float64)
        rf_words = np.floor(rf * 8 / wb)
        spads = hardware.spad_words(rf_words)
        df = self.dataflow
        ws, os_, rs = (df == DATAFLOWS.index(d) for d in DATAFLOWS)
        derived = (np.where(ws, rf_words, np.where(rs, spads[0], 0.0)), np.where(rs, spads[1], 0.0),
                   np.where(os_, rf_words, np.where(rs, spads[2], 0.0)))
        derived_bytes = (np.where(ws, rf, derived[0] * wb / 8), derived[1] * wb / 8,
                         np.where(os_, rf, derived[2] * wb / 8))
        given = self.per_operand
        pads = tuple(p.astype(np.float64) for p in (self.pad_w, self.pad_i, self.pad_o))
        words = tuple(np.where(given, np.floor(p * 8 / wb), d) for p, d in zip(pads, derived, strict=True))
        nbytes = tuple(np.where(given, p, d) for p, d in zip(pads, derived_bytes, strict=True))
        return nbytes, words

    def bandwidth(self, hardware: HardwareParams) -> np.ndarray:
        """GLB ↔ array words per cycle of every design (float64 [A]): its own, else the template's."""
        return np.where(self.glb_bw > 0, self.glb_bw, hardware.glb_words_per_cycle)

    def accelerator(self, i: int) -> Accelerator:
        bw = float(self.glb_bw[i])
        pads = (int(self.pad_w[i]), int(self.pad_i[i]), int(self.pad_o[i])) if self.per_operand[i] else None
        return Accelerator(int(self.pe_x[i]), int(self.pe_y[i]), int(self.rf_bytes[i]),
                           DATAFLOWS[int(self.dataflow[i])], int(self.glb_bytes[i]) // 1024,  # type: ignore[arg-type]
                           bw if bw > 0 else None, pads)

    @property
    def num_pes(self) -> np.ndarray:
        return self.pe_x * self.pe_y


class AcceleratorSpace:
    """The accelerator grid: enumeration, index ⇄ config ⇄ one-hot per knob."""

    def __init__(self, config: AcceleratorSpaceConfig):
        self.config = config

    @classmethod
    def load(cls, name_or_path: str | Path = DEFAULT_ACCEL_SPACE) -> AcceleratorSpace:
        return cls(load_config(AcceleratorSpaceConfig, name_or_path, "accelerator"))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def hardware(self) -> HardwareParams:
        return self.config.hardware

    @cached_property
    def knob_values(self) -> dict[str, tuple]:
        """Values of every knob in grid order (fixed knobs have one value)."""
        k = self.config.knobs
        # rf_bytes of a space with storage per operand is each design's total: one placeholder value 0;
        # the pads of a space with one RF are 0 (the RF is split by the dataflow)
        vals = {name: tuple(getattr(k, name)) if getattr(k, name) is not None else (0,)
                for name in KNOBS if name != "glb_bw"}
        return {**vals, "glb_bw": tuple(k.glb_bw) if k.glb_bw is not None else (None,)}

    @property
    def per_operand(self) -> bool:
        """The space gives each design's storage per operand (pad_w, pad_i, pad_o)."""
        return self.config.knobs.per_operand

    @cached_property
    def searched_knobs(self) -> tuple[str, ...]:
        """Knobs with more than one value (those the hardware generator predicts)."""
        return tuple(n for n in KNOBS if len(self.knob_values[n]) > 1)

    @property
    def radices(self) -> tuple[int, ...]:
        return tuple(len(self.knob_values[n]) for n in KNOBS)

    def __len__(self) -> int:
        return int(np.prod(self.radices))

    def knob_indices(self, index: np.ndarray | int) -> np.ndarray:
        """Per-knob value indices of grid indices: int64 [..., len(KNOBS)] in :data:`KNOBS` order."""
        idx = np.asarray(index, dtype=np.int64)
        if np.any(idx < 0) or np.any(idx >= len(self)):
            raise HDXError(f"accelerator index out of range 0..{len(self) - 1}")
        out = []
        for r in reversed(self.radices):
            out.append(idx % r)
            idx = idx // r
        return np.stack(out[::-1], axis=-1)

    def index_of_knobs(self, knob_idx: np.ndarray) -> np.ndarray:
        """Grid index from per-knob value indices [..., len(KNOBS)]."""
        knob_idx = np.asarray(knob_idx, dtype=np.int64)
        idx = np.zeros(knob_idx.shape[:-1], dtype=np.int64)
        for j, r in enumerate(self.radices):
            idx = idx * r + knob_idx[..., j]
        return idx

    def __getitem__(self, index: int) -> Accelerator:
        ki = self.knob_indices(int(index))
        v = {n: self.knob_values[n][int(i)] for n, i in zip(KNOBS, ki, strict=True)}
        pads = tuple(v[p] for p in PADS) if self.per_operand else None
        return Accelerator(v["pe_x"], v["pe_y"], v["rf_bytes"], v["dataflow"], v["glb_kib"], v["glb_bw"],
                           pads)  # type: ignore[arg-type]

    def index(self, acc: Accelerator | str) -> int:
        """Grid index of an accelerator; error naming the knob if it is not in the grid."""
        if isinstance(acc, str):
            acc = self.parse(acc)
        ki = []
        if self.per_operand and acc.pads is None:
            raise HDXError(f"accelerator {acc.text(True)}: grid '{self.name}' gives the storage per operand; "
                           f"write it as pads=W/I/O (bytes), e.g. {self[0].text()}")
        for n in KNOBS:
            v = 0 if n == "rf_bytes" and self.per_operand else getattr(acc, n)
            vals = self.knob_values[n]
            if n == "glb_bw" and v is None and vals != (None,):
                v = self.hardware.glb_words_per_cycle  # the template's bandwidth
            if v not in vals:
                raise HDXError(f"accelerator {acc.text(True)}: {n}={v} is not in grid '{self.name}' "
                               f"(values: {', '.join(map(str, vals))})")
            ki.append(vals.index(v))
        return int(self.index_of_knobs(np.array(ki)))

    def parse(self, text: str) -> Accelerator:
        """Parse the text form; a missing ``glb=`` takes 128 KiB where the grid has that size (a design's
        text leaves out ``glb=`` exactly there, :meth:`Accelerator.__str__`, so every printed design reads
        back as itself), else the grid's first GLB size; a missing ``bw=`` the grid's first bandwidth."""
        sizes = self.knob_values["glb_kib"]
        return Accelerator.parse(text, default_glb_kib=128 if 128 in sizes else sizes[0],
                                 default_glb_bw=self.knob_values["glb_bw"][0])

    @cached_property
    def table(self) -> AccelTable:
        """The whole grid as an :class:`AccelTable` (length ``len(self)``, grid order); a space of more
        than :data:`MAX_GRID` designs is a one-line error (search it in slices: :meth:`table_of`)."""
        if len(self) > MAX_GRID:
            raise HDXError(f"accelerator space '{self.name}' has {len(self)} designs, more than the "
                           f"{MAX_GRID} one cost table holds (the search, its evaluator and tabulation need "
                           f"one): search it with hdx cost --accel grid or hdx.best_accelerator, or fix some "
                           f"knobs")
        return self.table_of(np.arange(len(self)))

    def table_of(self, index: np.ndarray) -> AccelTable:
        """The designs of grid indices ``index`` ([N]) as an :class:`AccelTable`, in that order."""
        ki = self.knob_indices(np.asarray(index, dtype=np.int64).reshape(-1))
        kv = self.knob_values
        col = {n: np.asarray(kv[n], dtype=np.int64)[ki[:, KNOBS.index(n)]]
               for n in ("pe_x", "pe_y", "rf_bytes", *PADS, "glb_kib")}
        df = np.array([DATAFLOWS.index(d) for d in kv["dataflow"]])[ki[:, KNOBS.index("dataflow")]]
        bw = np.array([v or 0.0 for v in kv["glb_bw"]], dtype=np.float64)[ki[:, KNOBS.index("glb_bw")]]
        pads = tuple(col[p] for p in PADS) if self.per_operand else None
        rf = col["pad_w"] + col["pad_i"] + col["pad_o"] if self.per_operand else col["rf_bytes"]
        return AccelTable(col["pe_x"], col["pe_y"], rf, df, col["glb_kib"] * 1024, bw, pads)

    def one_hot(self, index: np.ndarray | int) -> dict[str, np.ndarray]:
        """Per-knob one-hot (float32 [..., n_values]) for every *searched* knob."""
        ki = self.knob_indices(index)
        out = {}
        for j, n in enumerate(KNOBS):
            if n in self.searched_knobs:
                out[n] = np.eye(len(self.knob_values[n]), dtype=np.float32)[ki[..., j]]
        return out

    def from_one_hot(self, one_hot: dict[str, np.ndarray]) -> np.ndarray:
        """Grid indices from per-knob scores (argmax per searched knob)."""
        shape = next(iter(one_hot.values())).shape[:-1] if one_hot else ()
        ki = np.zeros((*shape, len(KNOBS)), dtype=np.int64)
        for j, n in enumerate(KNOBS):
            if n in self.searched_knobs:
                ki[..., j] = np.asarray(one_hot[n]).argmax(-1)
        return self.index_of_knobs(ki)
