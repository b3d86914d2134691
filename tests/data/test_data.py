"""CIFAR-10 loading and validation, split, subset, batched augmentation and the seeded loader.

All fast tests use small fake folders in the real pickle layout written into tmp_path; one optional
test loads the real data set when it is present.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from hdx.data import Augment, BatchLoader, load_cifar10, normalize, split_train_val, subset
from hdx.data.augment import CIFAR_MEAN, CIFAR_STD, cutout, random_crop, random_flip
from hdx.data.fake import fake_batch, write_fake_cifar10
from hdx.errors import DataError


@pytest.fixture()
def fake(tmp_path: Path) -> Path:
    return write_fake_cifar10(tmp_path / "cifar", per_batch=12, test=10, seed=3)


def _rewrite(path: Path, **changes) -> None:
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="latin1")
    d.update(changes)
    with open(path, "wb") as f:
        pickle.dump(d, f)


def test_load_shapes_dtypes_and_pixel_layout(fake):
    d = load_cifar10(fake)
    assert d.train_x.shape == (60, 3, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.train_y.shape == (60,) and d.train_y.dtype == torch.int64
    assert d.test_x.shape == (10, 3, 32, 32) and d.test_y.shape == (10,)
    # pixel layout: row i of data_batch_2 is CHW-flattened image 12 + i
    with open(fake / "data_batch_2", "rb") as f:
        raw = pickle.load(f, encoding="latin1")
    assert np.array_equal(d.train_x[12 + 5].numpy(), raw["data"][5].reshape(3, 32, 32))
    assert d.train_y[12 + 5].item() == raw["labels"][5]


def test_env_var_is_used(fake, monkeypatch):
    monkeypatch.setenv("HDX_DATA", str(fake))
    assert load_cifar10().train_x.shape[0] == 60


def test_missing_folder_says_where_to_put_it(tmp_path, monkeypatch):
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path / "nope")
    msg = str(e.value)
    assert "nope" in msg and "--data" in msg and "HDX_DATA" in msg and "\n" not in msg
    monkeypatch.delenv("HDX_DATA", raising=False)
    with pytest.raises(DataError, match="HDX_DATA"):
        load_cifar10()


def test_missing_batch_file_is_named(fake):
    (fake / "test_batch").unlink()
    with pytest.raises(DataError, match="test_batch"):
        load_cifar10(fake)


def test_truncated_batch_is_named(fake):
    p = fake / "data_batch_3"
    p.write_bytes(p.read_bytes()[: 5000])
    with pytest.raises(DataError, match=r"data_batch_3 is truncated or corrupt"):
        load_cifar10(fake)


def test_garbage_batch_is_named(fake):
    (fake / "data_batch_1").write_bytes(b"this is not a pickle" * 50)
    with pytest.raises(DataError, match=r"data_batch_1 is truncated or corrupt"):
        load_cifar10(fake)


def test_wrong_label_range_is_named(fake):
    labels = [0] * 12
    labels[7] = 10
    _rewrite(fake / "data_batch_4", labels=labels)
    with pytest.raises(DataError, match=r"data_batch_4: label 10 out of range 0\.\.9"):
        load_cifar10(fake)
    _rewrite(fake / "data_batch_4", labels=[-1] + [0] * 11)
    with pytest.raises(DataError, match=r"label -1 out of range"):
        load_cifar10(fake)


def test_wrong_shape_dtype_and_count(fake):
    good = fake_batch(12, np.random.default_rng(0))
    _rewrite(fake / "data_batch_2", data=good["data"][:, :3000])
    with pytest.raises(DataError, match=r"data_batch_2: 'data' has shape \(12, 3000\)"):
        load_cifar10(fake)
    _rewrite(fake / "data_batch_2", data=good["data"].astype(np.float32))
    with pytest.raises(DataError, match="dtype float32, expected uint8"):
        load_cifar10(fake)
    _rewrite(fake / "data_batch_2", data=good["data"], labels=good["labels"][:11])
    with pytest.raises(DataError, match="11 labels for 12 images"):
        load_cifar10(fake)
    with open(fake / "data_batch_2", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(DataError, match="not a CIFAR-10 batch"):
        load_cifar10(fake)


def test_split_is_seeded_disjoint_and_complete():
    x = torch.arange(100).view(100, 1, 1, 1).expand(100, 3, 2, 2).to(torch.uint8)
    y = torch.arange(100) % 10
    (tx, ty), (vx, vy) = split_train_val(x, y, val_size=10, seed=1)
    assert tx.shape[0] == 90 and vx.shape[0] == 10
    ids = torch.cat([tx[:, 0, 0, 0], vx[:, 0, 0, 0]]).long()
    assert sorted(ids.tolist()) == list(range(100))
    assert torch.equal(ty, ids[:90] % 10)  # labels stay with their images
    (_, _), (vx2, _) = split_train_val(x, y, val_size=10, seed=1)
    (_, _), (vx3, _) = split_train_val(x, y, val_size=10, seed=2)
    assert torch.equal(vx, vx2) and not torch.equal(vx, vx3)
    with pytest.raises(DataError):
        split_train_val(x, y, val_size=100)


def test_subset():
    x = torch.arange(50).view(50, 1, 1, 1).to(torch.uint8)
    y = torch.arange(50)
    sx, sy = subset(x, y, 20, seed=0)
    assert sx.shape[0] == 20 and len(set(sy.tolist())) == 20
    assert torch.equal(sx[:, 0, 0, 0].long(), sy)
    assert subset(x, y, None)[0] is x and subset(x, y, 999)[0] is x


def test_random_crop_is_a_window_of_the_padded_image():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(random_crop(x, 0, g), x)
    out = random_crop(x, 2, g)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = []
    for b in range(16):
        hits = [(i, j) for i in range(5) for j in range(5)
                if torch.equal(padded[b, :, i:i + 8, j:j + 8], out[b])]
        assert hits, f"sample {b} is not a crop"
        offsets.append(hits[0])
    assert len(set(offsets)) > 1  # offsets differ between samples


def test_flip_and_normalize():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 4, 4), dtype=torch.uint8)
    out = random_flip(x, g)
    same = [torch.equal(out[i], x[i]) for i in range(64)]
    flipped = [torch.equal(out[i], x[i].flip(2)) for i in range(64)]
    assert all(s or f for s, f in zip(same, flipped, strict=True))
    assert 10 < sum(flipped) < 54
    z = normalize(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    assert torch.allclose(z[0, :, 0, 0], -torch.tensor(CIFAR_MEAN) / torch.tensor(CIFAR_STD))
    assert normalize(x).dtype == torch.float32


def test_cutout_zeroes_at_most_a_square():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(32, 3, 16, 16)
    out = cutout(x, 4, g)
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    assert (zeros <= 16).all() and (zeros >= 4).all()  # clipped at the border: at least 2x2 remains
    assert ((out == 0).all(dim=1) == (out[:, 0] == 0)).all()  # same hole on every channel
    assert torch.equal(cutout(x, 0, g), x)


def test_loader_seeded_complete_and_batched():
    x = torch.arange(50).view(50, 1, 1, 1).expand(50, 3, 4, 4).to(torch.uint8).contiguous()
    y = torch.arange(50)
    ld = BatchLoader(x, y, batch_size=16, seed=5)
    assert len(ld) == 4
    b0 = list(ld.epoch(0))
    assert [xb.shape[0] for xb, _ in b0] == [16, 16, 16, 2]
    ys = torch.cat([yb for _, yb in b0])
    assert sorted(ys.tolist()) == list(range(50))
    assert all(xb.dtype == torch.float32 for xb, _ in b0)
    again = list(BatchLoader(x, y, batch_size=16, seed=5).epoch(0))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(b0, again, strict=True))
    assert not torch.equal(ys, torch.cat([yb for _, yb in ld.epoch(1)]))
    # image ↔ label pairing survives shuffling (pixel value = label here)
    xn, yn = b0[0]
    raw = (xn[:, 0, 0, 0] * CIFAR_STD[0] + CIFAR_MEAN[0]) * 255
    assert torch.allclose(raw, yn.float(), atol=1e-3)
    ld2 = BatchLoader(x, y, batch_size=16, drop_last=True, augment=Augment(cutout=2))
    assert len(ld2) == 3 and len(list(ld2.epoch(0))) == 3


SHARED = Path(__file__).resolve().parents[3] / "shared"  # ../shared beside the repository
REAL_DATA = os.environ.get("HDX_DATA", str(SHARED / "data/cifar-10-batches-py"))


@pytest.mark.skipif(not Path(REAL_DATA).is_dir(),
                    reason="real CIFAR-10 not present")
def test_real_cifar10_loads():
    d = load_cifar10(REAL_DATA)
    assert d.train_x.shape == (50000, 3, 32, 32) and d.test_x.shape == (10000, 3, 32, 32)
    assert torch.bincount(d.train_y).tolist() == [5000] * 10
    assert torch.bincount(d.test_y).tolist() == [1000] * 10


