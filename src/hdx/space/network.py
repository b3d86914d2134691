"""Network search space from config (docs/design.md#the-network-space).

A space is a ProxylessNAS-style backbone read from YAML (:class:`NetworkSpaceConfig`):

``stem`` (k×k conv) → optional fixed ``first_block`` (MBConv) → ``stages`` of searchable layers →
``head`` (1×1 conv, global average pool, FC to ``num_classes``).

Each searchable layer ("position") picks one op from ``candidate_ops``:

* ``mb{k}e{e}``: MBConv = 1×1 expand conv (c_in → c_in·e; omitted when e = 1) → k×k depthwise conv
  (stride s) → 1×1 project conv (→ c_out), BN + ReLU6 after the first two, BN after the project;
  residual when stride = 1 and c_in = c_out.
* ``zero``: the layer is skipped through its residual. Never allowed on a stage's first layer,
  where channels or stride change.

An architecture is a tuple of op names, one per position; its text form joins them with commas,
e.g. ``mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3``. Nothing about widths, depths, strides,
resolution or classes is a constant in code: an ImageNet-style space is another YAML file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import Field, field_validator, model_validator

from hdx.config import StrictModel, load_config
from hdx.errors import HDXError
from hdx.workload import Layer

DEFAULT_SPACE = "dance_cifar10"

_OP_RE = re.compile(r"^mb([0-9]{1,4})e([0-9]{1,4})$")

# Ranges of every size in a space (a value outside is a one-line config error): they keep every
# layer's loop bounds and MAC count far inside int64 (see also hdx.workload.MAX_MACS).
MAX_KERNEL = 15        # MBConv / stem kernel (odd)
MAX_EXPANSION = 16     # MBConv expansion
MAX_CHANNELS = 16384   # channels of any layer
MAX_RESOLUTION = 2048  # input height = width (pixels)
MAX_DEPTH = 64         # searchable layers per stage


@dataclass(frozen=True)
class OpSpec:
    """A candidate op: MBConv with ``kernel`` and ``expansion``, or the Zero op."""

    name: str
    kernel: int = 0
    expansion: int = 0

    @property
    def is_zero(self) -> bool:
        return self.name == "zero"


def parse_op(name: str) -> OpSpec:
    """Parse ``mb{k}e{e}`` (odd k ≥ 1, e ≥ 1) or ``zero``; raise a clear error otherwise."""
    if not isinstance(name, str):
        raise HDXError(f"op {name!r} is not a name: use mb{{kernel}}e{{expansion}} (e.g. mb5e3) or zero")
    name = name.strip().lower()
    if len(name) > 32:
        raise HDXError(f"unknown op '{name[:20]}...': use mb{{kernel}}e{{expansion}} (e.g. mb5e3) or zero")
    if name == "zero":
        return OpSpec("zero")
    m = _OP_RE.match(name)
    if not m:
        raise HDXError(f"unknown op '{name}': use mb{{kernel}}e{{expansion}} (e.g. mb5e3) or zero")
    k, e = int(m.group(1)), int(m.group(2))
    if k < 1 or k % 2 == 0 or k > MAX_KERNEL:
        raise HDXError(f"op '{name}': kernel must be odd and in 1..{MAX_KERNEL} (got {k})")
    if not 1 <= e <= MAX_EXPANSION:
        raise HDXError(f"op '{name}': expansion must be in 1..{MAX_EXPANSION} (got {e})")
    return OpSpec(name, k, e)


_CH = {"ge": 1, "le": MAX_CHANNELS}
_K = {"ge": 1, "le": MAX_KERNEL}
_S = {"ge": 1, "le": 8}


class StemConfig(StrictModel):
    channels: int = Field(**_CH, description=f"output channels, 1..{MAX_CHANNELS}")
    kernel: int = Field(3, **_K, description=f"kernel, 1..{MAX_KERNEL}")
    stride: int = Field(1, **_S, description="stride, 1..8")


class BlockConfig(StrictModel):
    channels: int = Field(**_CH, description=f"output channels, 1..{MAX_CHANNELS}")
    kernel: int = Field(3, **_K, description=f"kernel, 1..{MAX_KERNEL}")
    expansion: int = Field(1, ge=1, le=MAX_EXPANSION, description=f"expansion, 1..{MAX_EXPANSION}")
    stride: int = Field(1, **_S, description="stride, 1..8")


class StageConfig(StrictModel):
    channels: int = Field(**_CH,
                          description=f"output channels of every layer in the stage, 1..{MAX_CHANNELS}")
    depth: int = Field(ge=1, le=MAX_DEPTH, description=f"number of searchable layers, 1..{MAX_DEPTH}")
    stride: int = Field(1, **_S, description="stride of the stage's first layer, 1..8")
    ops: list[str] | None = Field(None, max_length=64,
                                  description="candidate ops for this stage (default: all)")


class HeadConfig(StrictModel):
    channels: int | None = Field(1280, **_CH,
                                 description=f"1x1 conv width before pooling, 1..{MAX_CHANNELS}; "
                                 f"null: none")


class NetworkSpaceConfig(StrictModel):
    """The YAML schema of a network search space."""

    name: str = Field(min_length=1, max_length=200)
    resolution: int = Field(ge=1, le=MAX_RESOLUTION, description=f"input height = width (pixels), "
                            f"1..{MAX_RESOLUTION}")
    in_channels: int = Field(3, ge=1, le=64, description="input channels, 1..64")
    num_classes: int = Field(ge=2, le=100_000, description="classes, 2..100000")
    stem: StemConfig
    first_block: BlockConfig | None = None
    stages: list[StageConfig] = Field(min_length=1, max_length=16)
    head: HeadConfig = HeadConfig()
    candidate_ops: list[str] = Field(min_length=1, max_length=64)

    @field_validator("candidate_ops")
    @classmethod
    def _ops_parse(cls, v: list[str]) -> list[str]:
        names = [parse_op(o).name for o in v]
        if len(set(names)) != len(names):
            raise ValueError("candidate_ops has duplicates")
        if all(n == "zero" for n in names):
            raise ValueError("candidate_ops needs at least one MBConv op besides zero")
        return names

    @model_validator(mode="after")
    def _consistent(self) -> NetworkSpaceConfig:
        size = self.resolution
        strides = [("stem", self.stem.stride)]
        if self.first_block:
            strides.append(("first_block", self.first_block.stride))
        strides += [(f"stages.{i}", st.stride) for i, st in enumerate(self.stages)]
        for where, s in strides:
            if size % s:
                raise ValueError(f"{where}.stride={s} does not divide the feature map size {size} "
                                 f"(resolution {self.resolution}); change the strides or the resolution")
            size //= s
        for i, st in enumerate(self.stages):
            if st.ops is not None:
                bad = [o for o in st.ops if parse_op(o).name not in self.candidate_ops]
                if bad:
                    raise ValueError(f"stages.{i}.ops: {bad} not in candidate_ops")
                if all(parse_op(o).is_zero for o in st.ops):
                    raise ValueError(f"stages.{i}.ops needs an MBConv op besides zero")
        return self


@dataclass(frozen=True)
class Position:
    """One searchable layer: where it sits and which ops it may take."""

    index: int
    stage: int
    c_in: int
    c_out: int
    stride: int
    size_in: int  # input height = width
    ops: tuple[str, ...]  # allowed op names (zero excluded on a stage's first layer)

    @property
    def zero_allowed(self) -> bool:
        return "zero" in self.ops


class NetworkSpace:
    """A validated network search space with architecture encode/decode, sampling and workloads."""

    def __init__(self, config: NetworkSpaceConfig):
        self.config = config

    @classmethod
    def load(cls, name_or_path: str | Path = DEFAULT_SPACE) -> NetworkSpace:
        """Load a shipped space by name (e.g. ``dance_cifar10``) or a YAML file."""
        return cls(load_config(NetworkSpaceConfig, name_or_path, "network"))

    @property
    def name(self) -> str:
        return self.config.name

    # ----- structure ---------------------------------------------------------------------------
    @cached_property
    def op_names(self) -> tuple[str, ...]:
        """Global op vocabulary (the order of logits per position)."""
        return tuple(self.config.candidate_ops)

    @cached_property
    def positions(self) -> tuple[Position, ...]:
        cfg = self.config
        size = cfg.resolution // cfg.stem.stride
        c = cfg.stem.channels
        if cfg.first_block:
            size //= cfg.first_block.stride
            c = cfg.first_block.channels
        out = []
        for si, st in enumerate(cfg.stages):
            stage_ops = [parse_op(o).name for o in st.ops] if st.ops else list(self.op_names)
            for j in range(st.depth):
                stride = st.stride if j == 0 else 1
                ops = [o for o in self.op_names if o in stage_ops]
                if j == 0 or stride != 1 or c != st.channels:
                    ops = [o for o in ops if o != "zero"]
                out.append(Position(len(out), si, c, st.channels, stride, size, tuple(ops)))
                size //= stride
                c = st.channels
        return tuple(out)

    @property
    def num_positions(self) -> int:
        return len(self.positions)

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @cached_property
    def allowed_mask(self) -> np.ndarray:
        """Bool array [positions, ops]: which op may sit at which position."""
        m = np.zeros((self.num_positions, self.num_ops), dtype=bool)
        for p in self.positions:
            for o in p.ops:
                m[p.index, self.op_names.index(o)] = True
        return m

    @property
    def size(self) -> int:
        """Number of distinct architectures."""
        return math.prod(len(p.ops) for p in self.positions)

    # ----- architectures -----------------------------------------------------------------------
    def parse_arch(self, arch: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """Validate an architecture (text ``op,op,...`` or a list) and return it as a tuple."""
        if isinstance(arch, str) and len(arch) > 64 * (self.num_positions + 1):
            raise HDXError(f"architecture text is {len(arch)} characters long; give one op per layer "
                           f"({self.num_positions}), comma-separated")
        ops = [o for o in arch.split(",")] if isinstance(arch, str) else list(arch)
        ops = [o.strip().lower() for o in ops]
        if len(ops) != self.num_positions:
            raise HDXError(f"architecture has {len(ops)} ops but space '{self.name}' has "
                           f"{self.num_positions} searchable layers; give one op per layer, comma-separated")
        for p, o in zip(self.positions, ops, strict=True):
            spec = parse_op(o)
            if spec.name not in self.op_names:
                raise HDXError(f"op '{o}' at layer {p.index} is not a candidate of space '{self.name}' "
                               f"(candidates: {', '.join(self.op_names)})")
            if spec.name not in p.ops:
                if spec.is_zero:
                    raise HDXError(f"zero at layer {p.index} is not allowed: it is the first layer of "
                                   f"stage {p.stage} (channels or stride change); choose an MBConv op")
                raise HDXError(f"op '{o}' is not allowed at layer {p.index} (allowed: {', '.join(p.ops)})")
        return tuple(parse_op(o).name for o in ops)

    @staticmethod
    def arch_text(arch: tuple[str, ...] | list[str]) -> str:
        return ",".join(arch)

    def encode(self, arch: str | tuple[str, ...] | list[str]) -> np.ndarray:
        """Op indices (into :attr:`op_names`), int64 [positions]."""
        a = self.parse_arch(arch)
        return np.array([self.op_names.index(o) for o in a], dtype=np.int64)

    def decode(self, indices: np.ndarray | list[int]) -> tuple[str, ...]:
        """Architecture from op indices; validated."""
        idx = [int(i) for i in indices]
        if any(i < 0 or i >= self.num_ops for i in idx):
            raise HDXError(f"op index out of range 0..{self.num_ops - 1}: {idx}")
        return self.parse_arch([self.op_names[i] for i in idx])

    def one_hot(self, arch: str | tuple[str, ...] | list[str]) -> np.ndarray:
        """float32 [positions, ops] one-hot encoding."""
        oh = np.zeros((self.num_positions, self.num_ops), dtype=np.float32)
        oh[np.arange(self.num_positions), self.encode(arch)] = 1.0
        return oh

    def sample_indices(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniformly random architectures as op indices, int64 [n, positions]."""
        out = np.empty((n, self.num_positions), dtype=np.int64)
        for p in self.positions:
            allowed = np.array([self.op_names.index(o) for o in p.ops])
            out[:, p.index] = allowed[rng.integers(0, len(allowed), size=n)]
        return out

    def sample(self, rng: np.random.Generator) -> tuple[str, ...]:
        """One uniformly random architecture respecting the Zero rule."""
        return tuple(self.op_names[i] for i in self.sample_indices(rng, 1)[0])

    # ----- workloads ---------------------------------------------------------------------------
    def prefix_layers(self, batch: int = 1) -> list[Layer]:
        """Layers before the first searchable layer (stem and fixed block)."""
        cfg = self.config
        st = cfg.stem
        size = cfg.resolution
        out = [Layer("conv", c=cfg.in_channels, k=st.channels, h=size, w=size, r=st.kernel, s=st.kernel,
                     stride=st.stride, padding=st.kernel // 2, n=batch, name="stem")]
        size //= st.stride
        if cfg.first_block:
            fb = cfg.first_block
            out += _mbconv_layers("block0", st.channels, fb.channels, fb.kernel, fb.expansion,
                                  fb.stride, size, batch)
        return out

    def position_layers(self, index: int, op: str, batch: int = 1) -> list[Layer]:
        """Layers of searchable layer ``index`` when it takes ``op`` (empty for zero)."""
        p = self.positions[index]
        spec = parse_op(op)
        if spec.name not in p.ops:
            raise HDXError(f"op '{op}' is not allowed at layer {index} (allowed: {', '.join(p.ops)})")
        if spec.is_zero:
            return []
        return _mbconv_layers(f"l{index}", p.c_in, p.c_out, spec.kernel, spec.expansion, p.stride,
                              p.size_in, batch)

    def suffix_layers(self, batch: int = 1) -> list[Layer]:
        """Layers after the last searchable layer (head conv and FC)."""
        cfg = self.config
        last = self.positions[-1]
        size = last.size_in // last.stride
        c = last.c_out
        out = []
        if cfg.head.channels:
            out.append(Layer("pointwise", c=c, k=cfg.head.channels, h=size, w=size, n=batch,
                             name="head.conv"))
            c = cfg.head.channels
        out.append(Layer("fc", c=c, k=cfg.num_classes, n=batch, name="head.fc"))
        return out

    def layers(self, arch: str | tuple[str, ...] | list[str], batch: int = 1) -> list[Layer]:
        """The full layer list (stem, fixed block, every MBConv conv, head conv, FC) of ``arch``."""
        a = self.parse_arch(arch)
        out = self.prefix_layers(batch)
        for i, op in enumerate(a):
            out += self.position_layers(i, op, batch)
        return out + self.suffix_layers(batch)

    def macs(self, arch: str | tuple[str, ...] | list[str]) -> int:
        """Multiply-accumulates of one inference (batch 1)."""
        return sum(ly.macs for ly in self.layers(arch))


def _mbconv_layers(name: str, c_in: int, c_out: int, kernel: int, expansion: int, stride: int,
                   size: int, batch: int) -> list[Layer]:
    """Convs of one MBConv: [expand 1x1] → depthwise k×k (stride) → project 1x1."""
    mid = c_in * expansion
    out = []
    if expansion != 1:
        out.append(Layer("pointwise", c=c_in, k=mid, h=size, w=size, n=batch, name=f"{name}.expand"))
    out.append(Layer("depthwise", c=mid, k=mid, h=size, w=size, r=kernel, s=kernel, stride=stride,
                     padding=kernel // 2, groups=mid, n=batch, name=f"{name}.dw"))
    out_size = (size + 2 * (kernel // 2) - kernel) // stride + 1
    out.append(Layer("pointwise", c=mid, k=c_out, h=out_size, w=out_size, n=batch, name=f"{name}.project"))
    return out
