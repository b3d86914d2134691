"""Training from scratch of a fixed architecture (:mod:`.trainer`) with a typed config (:mod:`.config`).

The package is callable: ``hdx.train(...)`` is :func:`hdx.api.train`.
"""

from hdx.train.config import TrainConfig, load_train_config
from hdx.train.trainer import evaluate, resolve_device, train

__all__ = ["TrainConfig", "evaluate", "load_train_config", "resolve_device", "train"]

from hdx._callable import make_callable  # noqa: E402

make_callable(__name__, "train")
