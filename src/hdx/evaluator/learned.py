"""The learned DANCE evaluator: hardware generator + cost estimator behind :class:`Evaluator`.

Forward pass for architecture probabilities ``p`` [B, L, n_ops]:

1. ``x = p`` flattened; generator logits per searched knob;
2. relaxed accelerator ``y = relax(logits)`` (Gumbel-softmax; straight-through by default, so the
   estimator always sees a real accelerator while the gradient flows through the soft sample);
3. ``costs = exp(estimator(concat(x, y)))`` — latency (ms), energy (mJ), area (mm²).

The gradient reaches ``p`` directly through the estimator's arch input and through ``y`` into the
generator. All network parameters are frozen (``requires_grad=False``); the module stays in eval mode.

File format: one ``.safetensors`` file; its header metadata holds ``hdx_meta`` (JSON): space name
and config hash, grid name and config hash, cost-model name / version / fingerprint, objective
(and weights), network config, training metrics. :meth:`LearnedEvaluator.load` refuses a file whose
space, grid, cost model or objective differs from the run's with a one-line :class:`HDXError`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hdx.config import config_hash
from hdx.cost.base import CostModel
from hdx.errors import HDXError
from hdx.evaluator.base import EvalResult, Evaluator
from hdx.evaluator.networks import CostEstimator, HardwareGenerator, relax
from hdx.evaluator.train import EvaluatorConfig
from hdx.metrics import METRICS
from hdx.safeio import atomic_write_bytes, dumps_json
from hdx.space.accelerator import KNOBS, AcceleratorSpace
from hdx.space.network import NetworkSpace

FILE_FORMAT = "hdx-evaluator"
FILE_VERSION = 1
#: the largest evaluator file HDX opens (the shipped one is 1.4 MB)
MAX_FILE_BYTES = 256 << 20


class EvaluatorMeta(BaseModel):
    """Schema of the ``hdx_meta`` header of an evaluator file, validated before any field is used or
    any network is built (sizes bounded by :class:`EvaluatorConfig`)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    format: str = Field(max_length=64)
    version: int
    space: str = Field(max_length=200)
    space_hash: str = Field(max_length=128)
    grid: str = Field(max_length=200)
    grid_hash: str = Field(max_length=128)
    model_name: str = Field(max_length=200)
    model_version: str = Field(max_length=64)
    model_fingerprint: str = Field(max_length=128)
    objective: str = Field(max_length=32)
    weights: dict[str, float] | None = None
    knob_sizes: dict[str, int] = Field(max_length=len(KNOBS))
    op_names: list[str] = Field(max_length=64)
    metrics: list[str] = Field(max_length=8)
    training: dict = Field(default_factory=dict)
    config: EvaluatorConfig


class LearnedEvaluator(Evaluator):
    """Generator + estimator with the metadata that ties them to a space, grid, model and objective."""

    def __init__(self, space: NetworkSpace, grid: AcceleratorSpace, generator: HardwareGenerator,
                 estimator: CostEstimator, meta: dict, config: EvaluatorConfig) -> None:
        super().__init__(num_positions=space.num_positions, num_ops=space.num_ops,
                         allowed_mask=space.allowed_mask)
        self.space_name = space.name
        self.grid_name = grid.name
        self.model_fingerprint = meta["model_fingerprint"]
        self.objective = meta["objective"]
        self.meta = meta
        self.config = config
        self.generator = generator
        self.estimator = estimator
        self.tau, self.hard, self.noise = config.tau, config.hard, config.noise
        self.knobs = tuple(grid.searched_knobs)
        strides = np.cumprod((1,) + grid.radices[::-1])[:-1][::-1]  # row-major strides per knob
        self.knob_strides_py = tuple(int(strides[KNOBS.index(k)]) for k in self.knobs)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LearnedEvaluator:  # always frozen: eval mode only
        return super().train(False)

    def forward(self, arch_probs: torch.Tensor) -> EvalResult:
        p = self._batch(arch_probs)
        dtype = p.dtype if p.is_floating_point() else torch.float32
        x = p.reshape(p.shape[0], -1).to(torch.float32)
        logits = self.generator(x)
        if self.noise:
            y = relax(logits, tau=self.tau, hard=self.hard, noise=True)
            probs = {k: torch.softmax(lg / self.tau, dim=-1) for k, lg in logits.items()}
            best = {k: lg.argmax(-1) for k, lg in logits.items()}
        else:  # deterministic: one softmax and one argmax per knob serve all three outputs
            probs = {k: torch.softmax(lg / self.tau, dim=-1) for k, lg in logits.items()}
            best = {k: lg.argmax(-1) for k, lg in logits.items()}
            if self.hard:
                y = {k: p - p.detach() + torch.nn.functional.one_hot(best[k], p.shape[-1]).to(p.dtype)
                     for k, p in probs.items()}
            else:
                y = probs
        costs = self.estimator.metrics(x, y).to(dtype)
        index = torch.zeros(x.shape[0], dtype=torch.int64, device=x.device)
        for k, st in zip(self.knobs, self.knob_strides_py, strict=True):
            index = index + best[k] * st
        if dtype != torch.float32:
            probs = {k: v.to(dtype) for k, v in probs.items()}
        return EvalResult(costs=dict(zip(METRICS, costs.unbind(-1), strict=True)), accel_probs=probs,
                          accel_index=index)

    # ----- files ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write one safetensors file (atomically) with the metadata in its header."""
        from safetensors.torch import save

        tensors = {f"generator.{k}": v.detach().contiguous() for k, v in self.generator.state_dict().items()}
        tensors |= {f"estimator.{k}": v.detach().contiguous() for k, v in self.estimator.state_dict().items()}
        meta = dict(self.meta, config=self.config.model_dump(mode="json"))
        path = Path(path)
        header = {"hdx_meta": dumps_json(meta, what="evaluator metadata")}
        atomic_write_bytes(path, save(tensors, metadata=header))
        return path

    @classmethod
    def read_meta(cls, path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
        """Metadata and tensors of an evaluator file; a missing or corrupt file → one-line HDXError."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise HDXError(f"evaluator file not found: {path} (build one with `hdx evaluator build --out "
                           f"{path}`)")
        fix = f"rebuild it with `hdx evaluator build --out {path}`"
        if path.stat().st_size > MAX_FILE_BYTES:
            raise HDXError(f"evaluator file {path} is larger than {MAX_FILE_BYTES >> 20} MiB; {fix}")
        try:
            with safe_open(str(path), framework="pt") as f:
                header = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open API
            meta = json.loads(header["hdx_meta"])
        except Exception as e:  # truncated file, foreign file, bad JSON
            raise HDXError(f"corrupt or unreadable evaluator file {path} ({type(e).__name__}); "
                           f"{fix}") from None
        ok_format = isinstance(meta, dict) and (meta.get("format"), meta.get("version")) == (FILE_FORMAT,
                                                                                          FILE_VERSION)
        if not ok_format:
            raise HDXError(f"{path} is not an HDX evaluator file of version {FILE_VERSION}; {fix}")
        try:
            EvaluatorMeta.model_validate(meta)
        except ValidationError as e:
            from hdx.config import format_validation_error

            msg = format_validation_error(e, f"metadata in evaluator file {path}")
            raise HDXError(f"{msg}; {fix}") from None
        return meta, tensors

    @classmethod
    def load(cls, path: str | Path, *, space: NetworkSpace, grid: AcceleratorSpace,
             model: CostModel | None = None, objective: str | None = "edap", check: bool = True,
             **opts) -> LearnedEvaluator:
        """Load and verify an evaluator for this run (``opts``: ``tau``, ``hard``, ``noise`` overrides)."""
        meta, tensors = cls.read_meta(path)
        fix = (f"rebuild it with `hdx evaluator build --space {space.name} --accel-space {grid.name} "
               f"--objective {objective or meta['objective']} --out FILE`")
        if check:
            problem = mismatch(meta, space=space, grid=grid, model=model, objective=objective)
            if problem:
                raise HDXError(f"evaluator {path} was built for {problem}; {fix}")
        bad = set(opts) - {"tau", "hard", "noise"}
        if bad:
            raise HDXError(f"unknown learned-evaluator option(s) {sorted(bad)}: use tau, hard, noise")
        cfg_data = dict(meta["config"], **opts)
        cfg = EvaluatorConfig.model_validate(cfg_data)
        sizes = {k: len(grid.knob_values[k]) for k in grid.searched_knobs}
        if sizes != meta["knob_sizes"]:
            raise HDXError(f"evaluator {path} has knobs {meta['knob_sizes']}, grid '{grid.name}' has "
                           f"{sizes}; {fix}")
        arch_dim = space.num_positions * space.num_ops
        gen = HardwareGenerator(arch_dim, sizes, cfg.generator)
        est = CostEstimator(arch_dim, sizes, cfg.estimator, n_out=len(METRICS))
        try:
            gen.load_state_dict({k[len("generator."):]: v for k, v in tensors.items()
                                 if k.startswith("generator.")})
            est.load_state_dict({k[len("estimator."):]: v for k, v in tensors.items()
                                 if k.startswith("estimator.")})
        except RuntimeError:
            raise HDXError(f"evaluator file {path} does not match its own network config (corrupt); "
                           f"{fix}") from None
        return cls(space, grid, gen, est, meta, cfg)


def mismatch(meta: dict, *, space: NetworkSpace, grid: AcceleratorSpace, model: CostModel | None = None,
             objective: str | None = None) -> str | None:
    """What an evaluator file's metadata was built for that this run differs in (space, space config,
    grid, grid config, cost-model fingerprint, objective), as ``"<what> '<theirs>', this run uses
    '<ours>'"``; None when it fits."""
    checks = [("space", meta["space"], space.name),
              ("space config", meta["space_hash"], config_hash(space.config)),
              ("accelerator grid", meta["grid"], grid.name),
              ("grid config", meta["grid_hash"], config_hash(grid.config))]
    if model is not None:
        checks.append(("cost-model fingerprint", meta["model_fingerprint"], model.fingerprint()))
    if objective is not None:
        checks.append(("objective", meta["objective"], objective))
    for what, have, want in checks:
        if have != want:
            return f"{what} '{_short(have)}', this run uses '{_short(want)}'"
    return None


def _short(s: str) -> str:
    return s[:12] + "…" if len(s) > 16 else s


def make_meta(space: NetworkSpace, grid: AcceleratorSpace, model_meta: dict, objective: str,
              weights: dict | None, training: dict) -> dict:
    """The metadata record stored in an evaluator file."""
    return {
        "format": FILE_FORMAT, "version": FILE_VERSION,
        "space": space.name, "space_hash": config_hash(space.config),
        "grid": grid.name, "grid_hash": config_hash(grid.config),
        "model_name": model_meta["model_name"], "model_version": model_meta["model_version"],
        "model_fingerprint": model_meta["model_fingerprint"],
        "objective": objective, "weights": weights,
        "knob_sizes": {k: len(grid.knob_values[k]) for k in grid.searched_knobs},
        "op_names": list(space.op_names), "metrics": list(METRICS),
        "training": training,
    }
