"""CIFAR-10 data: loading and validation (:mod:`.cifar`), batched augmentation (:mod:`.augment`) and a
seeded in-memory batch loader (:mod:`.loader`)."""

from hdx.data.augment import Augment, normalize
from hdx.data.cifar import Cifar10, load_cifar10, resolve_data_dir, split_train_val, subset
from hdx.data.loader import BatchLoader

__all__ = ["Augment", "BatchLoader", "Cifar10", "load_cifar10", "normalize",
           "resolve_data_dir", "split_train_val", "subset"]
