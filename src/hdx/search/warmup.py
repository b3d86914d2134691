"""Shared warm-up: one weight-only warm-up checkpoint, many searches started from it.

The first ``warmup_epochs`` of a search train the supernet weights only: they never read α, the
budgets, the method, the objective or any architecture-step setting. Searches whose configs agree on
everything the warm-up *does* read (:data:`WARMUP_FIELDS`) therefore pass through the same state at
the end of the warm-up, and can all start from one saved copy of it instead of recomputing it.

* :func:`hdx.search.loop.make_warmup` runs the warm-up of a config and saves it (``torch.save``,
  atomic): the weight state, the RNG state and the values of :data:`WARMUP_FIELDS` it was made with;
* a search with ``warmup_from: FILE`` in its config starts from that file (when it starts from
  scratch; a resumed run continues from its own checkpoint). The file is refused with one line if it
  was made under a different value of any field in :data:`WARMUP_FIELDS`.

The result is the same ``final.json`` as the same search run alone (same seed, same thread count):
the warm state includes the RNG state and the data order is a function of the epoch.
``hdx sweep`` uses this automatically (``shared_warmup: true``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hdx.errors import HDXError

#: every config field the weight-only warm-up depends on (the supernet, the data, the weight optimiser
#: and its cosine schedule, which spans all ``epochs``)
WARMUP_FIELDS: tuple[str, ...] = (
    "space", "data", "fake_data", "subset", "val_fraction", "batch_size", "width_mult", "supernet_mode",
    "tau0", "tau_decay", "w_lr", "w_momentum", "w_weight_decay", "epochs", "warmup_epochs", "seed",
    "device", "channels_last",
)
WARM_KEYS = {"epoch", "wstep", "net", "w_opt", "rng", "cuda_rng", "epoch_times", "warmup_config", "format"}
FORMAT = "hdx-warmup-1"


def warmup_config(cfg) -> dict:
    """The values of :data:`WARMUP_FIELDS` in ``cfg`` (a :class:`~hdx.search.config.SearchConfig`)."""
    d = cfg.model_dump(mode="json")
    return {k: d[k] for k in WARMUP_FIELDS}


def warmup_key(cfg) -> str:
    """Short stable hash of :func:`warmup_config`: configs with equal keys share a warm-up."""
    blob = json.dumps(warmup_config(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def load_warmup(path: str | Path, cfg) -> dict:
    """The warm state saved by :func:`hdx.search.loop.make_warmup`, checked against ``cfg`` (one-line
    errors)."""
    from hdx.safeio import load_torch

    p = Path(path)
    if not p.is_file():
        raise HDXError(f"warmup_from: no warm-up file {p} (make one with hdx.search.loop.make_warmup, "
                       f"or set warmup_from: null)")
    st = load_torch(p, what="warm-up file")
    if not isinstance(st, dict) or set(st) != WARM_KEYS or st.get("format") != FORMAT:
        raise HDXError(f"warmup_from: {p} is not an HDX warm-up file; regenerate it or set warmup_from: null")
    try:
        made = json.loads(st["warmup_config"])
    except (TypeError, ValueError):
        raise HDXError(f"warmup_from: {p} has an unreadable config; regenerate it") from None
    want = warmup_config(cfg)
    diff = [k for k in WARMUP_FIELDS if made.get(k) != want[k]]
    if diff:
        k = diff[0]
        raise HDXError(f"warmup_from: {p} was made with {k}={made.get(k)!r}, this search has "
                       f"{k}={want[k]!r}; "
                       f"use a warm-up made with this config or set warmup_from: null")
    return st
