"""RecognitionDataModule: the batch contract, the zero-shot class restrictions of every loader, the crop, resize
and rotation transforms, determinism, rank sharding and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sic.data.action_splits import CLASS_NAMES, get_split
from sic.data.formats.skeleton_npz import write_skeleton_npz
from sic.data.recognition import RecognitionDataModule, crop_windows, resize_indices, rotation_matrices
from sic.data.skeleton import get_layout
from sic.utils.errors import ConfigError, DataError

NTU_SPLIT = get_split("ntu60-55-5")
PROC_SPLIT = get_split("procedural-13-4")


def procedural(cache_dir, **kwargs) -> RecognitionDataModule:
    args = {"num_frames": 16, "clips_per_class": 4, "clip_frames": 24, "batch_size": 8, "cache_dir": str(cache_dir)}
    return RecognitionDataModule(**{**args, **kwargs})


def ntu(path, **kwargs) -> RecognitionDataModule:
    args = {"dataset": "ntu60", "split": "ntu60-55-5", "path": str(path), "num_frames": 12, "batch_size": 16}
    return RecognitionDataModule(**{**args, **kwargs})


def _sequences(rng, labels, frames=20):
    """Random 2-person sequences with zero padding after a random valid length; even samples have one person."""
    n = len(labels)
    x = rng.normal(size=(n, frames, 2, 25, 3)).astype(np.float32)
    valid = rng.integers(4, frames + 1, size=n)
    x[np.arange(frames)[None] >= valid[:, None]] = 0.0
    x[::2, :, 1] = 0.0
    return x, valid


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A tiny NTU-60 archive: 4 training samples and 1 test sample per class."""
    rng = np.random.default_rng(0)
    y_train, y_test = np.repeat(np.arange(60), 4), np.arange(60)
    (x_train, valid), (x_test, _) = _sequences(rng, y_train), _sequences(rng, y_test)
    path = tmp_path_factory.mktemp("ntu") / "ntu60.npz"
    write_skeleton_npz(path, {"train": (x_train, y_train), "test": (x_test, y_test)})
    return path, x_train, valid


def _all(loader):
    batches = list(loader)
    return {k: torch.cat([b.meta[k] for b in batches]) for k in batches[0].meta}, batches


# -- batch contract ------------------------------------------------------------------------------------------
def test_procedural_batches_follow_the_contract(cache_dir):
    dm = procedural(cache_dir)
    assert (dm.num_classes, dm.num_joints, dm.num_persons, dm.layout) == (17, 17, 1, "h36m17")
    assert dm.class_names == CLASS_NAMES["procedural"] and dm.unseen == PROC_SPLIT.unseen
    assert dm.train_classes == PROC_SPLIT.seen and dm.val_unseen == ()
    b = next(iter(dm.train_dataloader()))
    assert b.inputs.shape == (8, 16, 17, 3) and b.inputs.dtype == torch.float32
    assert b.targets is b.inputs and b.task.tolist() == [-1] * 8
    assert set(b.meta) == {"label", "label_seen", "index", "valid"}
    assert all(v.shape == (8,) and v.dtype == torch.long for v in b.meta.values())
    assert b.meta["valid"].tolist() == [16] * 8
    assert b.meta["label_seen"].tolist() == [dm.train_classes.index(c) for c in b.meta["label"].tolist()]


def test_archive_batches_concatenate_persons_person_major(archive):
    path, x, valid = archive
    dm = ntu(path, rotation=0.0, train_crop=(1.0, 1.0))
    assert (dm.num_joints, dm.num_persons, dm.layout, dm.num_classes) == (25, 2, "ntu25", 60)
    b = next(iter(dm.train_dataloader()))
    assert b.inputs.shape == (16, 12, 50, 3) and b.inputs.dtype == torch.float32
    for k, i in enumerate(b.meta["index"].tolist()):  # full valid crop, no rotation: a plain resize
        v = int(valid[i])
        seq = torch.from_numpy(x[i, :v].reshape(v, -1)).T[None]  # (1, 150, v)
        want = F.interpolate(seq, size=12, mode="linear", align_corners=False)[0].T.reshape(12, 50, 3)
        torch.testing.assert_close(b.inputs[k], want, atol=1e-5, rtol=1e-5)
    label_seen = torch.tensor([dm.train_classes.index(c) for c in b.meta["label"].tolist()])
    assert torch.equal(b.meta["label_seen"], label_seen)


# -- class restrictions of every loader ----------------------------------------------------------------------
@pytest.mark.parametrize("holdout", [False, True])
def test_procedural_rows_per_loader(cache_dir, holdout):
    dm = procedural(cache_dir, holdout_validation=holdout)
    val_classes = set(PROC_SPLIT.validation) if holdout else set()
    assert set(dm.train_classes) == set(PROC_SPLIT.seen) - val_classes
    assert dm.val_unseen == (PROC_SPLIT.validation if holdout else ())
    train, _ = _all(dm.train_dataloader())
    assert set(train["label"].tolist()) == set(dm.train_classes)  # every training class, nothing else
    assert (train["label_seen"] >= 0).all()
    val, _ = _all(dm.val_dataloader())
    labels = val["label"]
    assert set(labels.tolist()) == set(dm.train_classes) | val_classes
    assert not set(labels.tolist()) & set(PROC_SPLIT.unseen)
    pseudo = torch.isin(labels, torch.tensor(sorted(val_classes), dtype=torch.long))
    assert (val["label_seen"][pseudo] == -1).all() and (val["label_seen"][~pseudo] >= 0).all()
    assert int((~pseudo).sum()) == 8 * len(dm.train_classes)  # validation subjects: 8 clips per class
    assert int(pseudo.sum()) == 4 * len(val_classes)  # the pseudo-unseen clips of the training subjects
    assert len(set(val["index"].tolist())) == len(labels)
    assert not set(val["index"].tolist()) & set(dm.datasets["train"].index.tolist())
    test, _ = _all(dm.test_dataloader())
    assert sorted(set(test["label"].tolist())) == list(range(17)) and len(test["label"]) == 8 * 17


@pytest.mark.parametrize("holdout", [False, True])
def test_archive_rows_per_loader(archive, holdout):
    path, _, _ = archive
    dm = ntu(path, holdout_validation=holdout, val_fraction=0.25)
    val_classes = set(NTU_SPLIT.validation) if holdout else set()
    dm.setup("fit")
    train, val = dm.datasets["train"], dm.datasets["val"]
    y = np.repeat(np.arange(60), 4)
    assert set(train.labels.tolist()) <= set(NTU_SPLIT.seen) - val_classes
    held_seen = val.labels[~np.isin(val.labels, sorted(val_classes))]
    assert set(train.labels.tolist()) | set(held_seen.tolist()) == set(NTU_SPLIT.seen) - val_classes
    assert not set(val.labels.tolist()) & set(NTU_SPLIT.unseen)
    assert not set(train.index.tolist()) & set(val.index.tolist())
    # held-out seen rows + (with holdout) every training-split row of the validation classes
    pseudo = np.isin(y, sorted(val_classes))
    seen_rows = np.flatnonzero(np.isin(y, dm.train_classes))
    assert sorted([*train.index.tolist(), *val.index[~np.isin(val.labels, sorted(val_classes))].tolist()]) == (
        seen_rows.tolist()
    )
    assert sorted(val.index[np.isin(val.labels, sorted(val_classes))].tolist()) == np.flatnonzero(pseudo).tolist()
    held = len(val) - int(pseudo.sum())
    assert 0 < held < len(seen_rows) / 2  # about a quarter of the seen rows
    b = next(iter(dm.val_dataloader()))
    want = [dm.train_classes.index(c) if c in dm.train_classes else -1 for c in b.meta["label"].tolist()]
    assert b.meta["label_seen"].tolist() == want
    test, _ = _all(dm.test_dataloader())
    assert test["label"].tolist() == list(range(60)) and test["index"].tolist() == list(range(60))


def test_supervised_without_a_split_trains_on_every_class(archive):
    dm = ntu(archive[0], split=None)
    assert dm.train_classes == dm.seen == tuple(range(60)) and dm.unseen == () == dm.val_unseen
    dm.setup("fit")
    assert set(dm.datasets["train"].labels.tolist()) == set(range(60))


# -- determinism ---------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_batches_and_another_seed_other_training_batches(cache_dir):
    a, b, c = (procedural(cache_dir, seed=s, holdout_validation=True) for s in (0, 0, 1))
    for name in ("val_dataloader", "test_dataloader"):
        for x, y in zip(getattr(a, name)(), getattr(b, name)(), strict=True):
            assert torch.equal(x.inputs, y.inputs) and torch.equal(x.meta["index"], y.meta["index"])
    ta, tb, tc = (next(iter(m.train_dataloader())) for m in (a, b, c))
    assert torch.equal(ta.inputs, tb.inputs) and torch.equal(ta.meta["index"], tb.meta["index"])
    assert not torch.equal(ta.inputs, tc.inputs)
    torch.testing.assert_close(next(iter(c.test_dataloader())).inputs, next(iter(a.test_dataloader())).inputs)


def test_training_draws_depend_on_item_and_draw_only(cache_dir):
    data = procedural(cache_dir)._get("train")
    one = data.__getitems__([(3, 10), (5, 11)])
    two = data.__getitems__([(7, 0), (3, 10)])
    torch.testing.assert_close(one.inputs[0], two.inputs[1])
    again = data.__getitems__([(3, d) for d in range(12)])
    assert len({tuple(again.inputs[i].flatten()[:20].tolist()) for i in range(12)}) == 12  # new crop/rotation


def test_legacy_test_augmentation_changes_test_batches_but_stays_seeded(cache_dir):
    plain = next(iter(procedural(cache_dir).test_dataloader()))
    legacy = [next(iter(procedural(cache_dir, legacy_test_augment=True).test_dataloader())) for _ in range(2)]
    assert not torch.allclose(plain.inputs, legacy[0].inputs)
    assert torch.equal(legacy[0].inputs, legacy[1].inputs)
    assert torch.equal(plain.meta["index"], legacy[0].meta["index"])


# -- transforms ----------------------------------------------------------------------------------------------
def _ramp_archive(path, valid=20, frames=24):
    x = np.zeros((1, frames, 2, 25, 3), np.float32)
    x[0, :valid] = (np.arange(valid, dtype=np.float32) + 1)[:, None, None, None]  # frame t holds t + 1
    write_skeleton_npz(path, {"train": (x, np.array([0])), "test": (x, np.array([0]))})


def test_test_crop_is_centred_and_resized_linearly(tmp_path):
    _ramp_archive(tmp_path / "ramp.npz")
    dm = ntu(tmp_path / "ramp.npz", split=None, test_crop=0.75, num_frames=8)
    got = next(iter(dm.test_dataloader())).inputs[0, :, 0, 0]
    # bias int(0.25 * 20 / 2) = 2: frames 2..17 (values 3..18), 16 -> 8 frames at source 2i + 0.5
    torch.testing.assert_close(got, torch.arange(8, dtype=torch.float32) * 2 + 3.5)
    up = ntu(tmp_path / "ramp.npz", split=None, test_crop=0.75, num_frames=40)
    got = next(iter(up.test_dataloader())).inputs[0, :, 0, 0]
    want = F.interpolate(torch.arange(3, 19, dtype=torch.float32)[None, None], size=40, mode="linear")
    torch.testing.assert_close(got, want[0, 0])


def test_random_crops_stay_inside_the_valid_frames(tmp_path):
    _ramp_archive(tmp_path / "ramp.npz")
    dm = ntu(tmp_path / "ramp.npz", split=None, val_fraction=0.0, rotation=0.0, num_frames=8)
    data = dm._get("train")
    x = data.__getitems__([(0, d) for d in range(64)]).inputs[:, :, 0, 0]
    assert x.min() >= 1.0 and x.max() <= 20.0  # never a padded (zero) frame
    span = x[:, -1] - x[:, 0]
    assert span.max() > 14 and span.min() >= 8.5 and len(set(x[:, 0].tolist())) > 5


def test_crop_windows_bounds():
    valid = np.array([1, 5, 30, 100, 300])
    start, length = crop_windows(valid, 64, 0.95)
    assert start.tolist() == [0, 0, 0, 2, 7] and (start + length).tolist() == [1, 5, 30, 98, 293]
    u = np.random.default_rng(0).random((5, 2))
    for lo, hi in ((0.5, 1.0), (0.1, 0.2)):
        start, length = crop_windows(valid, 64, (lo, hi), u)
        assert (length >= np.minimum(64, valid)).all() and (start >= 0).all() and (start + length <= valid).all()
    with pytest.raises(ValueError, match="uniforms"):
        crop_windows(valid, 64, (0.5, 1.0))


def test_resize_indices_match_torch_linear_interpolation():
    for length, t in ((16, 8), (5, 12), (1, 4), (64, 64)):
        seq = torch.randn(length, dtype=torch.float64)
        i0, i1, w = resize_indices(np.array([length]), t)
        got = (1 - torch.from_numpy(w[0]).double()) * seq[i0[0]] + torch.from_numpy(w[0]).double() * seq[i1[0]]
        want = F.interpolate(seq[None, None], size=t, mode="linear", align_corners=False)[0, 0]
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


def test_rotation_matrices_compose_z_y_x():
    a = 0.4
    rx = rotation_matrices(np.array([[a, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(rx @ [0, 1, 0], [0, np.cos(a), np.sin(a)], atol=1e-6)
    rz = rotation_matrices(np.array([[0.0, 0.0, a]]))[0]
    np.testing.assert_allclose(rz @ [1, 0, 0], [np.cos(a), np.sin(a), 0], atol=1e-6)
    ry = rotation_matrices(np.array([[0.0, a, 0.0]]))[0]
    r = rotation_matrices(np.array([[a, a, a]]))[0]
    np.testing.assert_allclose(r, rz @ ry @ rx, atol=1e-6)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-6)
    assert np.isclose(np.linalg.det(r), 1.0, atol=1e-6)


def test_rotation_preserves_bone_lengths_and_keeps_absent_persons_zero(cache_dir, archive):
    keys = [(i, 100 + i) for i in range(8)]
    plain = procedural(cache_dir, rotation=0.0)._get("train").__getitems__(keys).inputs
    turned = procedural(cache_dir, rotation=0.3)._get("train").__getitems__(keys).inputs
    assert not torch.allclose(plain, turned, atol=1e-3)
    parents = get_layout("h36m17").parents
    child = [j for j, p in enumerate(parents) if p >= 0]

    def bones(x):
        return (x[:, :, child] - x[:, :, [parents[j] for j in child]]).norm(dim=-1)

    torch.testing.assert_close(bones(turned), bones(plain), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(turned.norm(dim=-1), plain.norm(dim=-1), atol=1e-5, rtol=1e-5)
    data = ntu(archive[0], rotation=0.3)._get("train")
    b = data.__getitems__([(i, i) for i in range(len(data))])
    one_person = (b.meta["index"] % 2 == 0).tolist()  # the archive's even samples have no second person
    second = b.inputs[:, :, 25:]
    assert (second[one_person] == 0).all() and (second[[not o for o in one_person]] != 0).any()


# -- sharding ------------------------------------------------------------------------------------------------
def test_two_ranks_cover_every_test_row_exactly_once(cache_dir, monkeypatch):
    dm = procedural(cache_dir, eval_batch_size=10)
    rows = []
    for rank in range(2):
        monkeypatch.setattr(dm, "_ranks", lambda rank=rank: (2, rank))
        rows += [i for b in dm.test_dataloader() for i in b.meta["index"].tolist()]
    assert sorted(rows) == list(range(8 * 17))
    streams = []
    for rank in range(2):
        monkeypatch.setattr(dm, "_ranks", lambda rank=rank: (2, rank))
        streams.append([i for b in dm.train_dataloader() for i in b.meta["index"].tolist()])
    assert len(streams[0]) == len(streams[1]) and not set(streams[0]) & set(streams[1])


# -- knowledge -----------------------------------------------------------------------------------------------
def _knowledge_file(path):
    context = {"environment": "a room", "body_part": "arm", "used_object": "nothing", "sub_action": "move",
               "target_object": "air"}  # fmt: skip
    classes = [{"id": i, "name": n, "parts": ["arm"], "descriptions": [f"a person does {n}"], "contexts": [context]}
               for i, n in enumerate(CLASS_NAMES["procedural"])]  # fmt: skip
    path.write_text(json.dumps({"dataset": "procedural", "classes": classes}))
    return path


@pytest.mark.parametrize("holdout", [False, True])
def test_knowledge_hides_unseen_classes_until_test(cache_dir, tmp_path, holdout):
    dm = procedural(cache_dir, holdout_validation=holdout, knowledge=str(_knowledge_file(tmp_path / "k.json")))
    for stage in ("fit", "validate"):
        kb = dm.knowledge(stage)
        assert kb.ids == tuple(sorted((*dm.train_classes, *dm.val_unseen)))
        assert not set(kb.ids) & set(dm.unseen)
        with pytest.raises(KeyError, match="not visible"):
            kb[dm.unseen[0]]
    assert dm.knowledge("test").ids == tuple(range(17))
    with pytest.raises(ConfigError, match="unknown stage"):
        dm.knowledge("train")


# -- errors --------------------------------------------------------------------------------------------------
def test_bad_configurations_raise_clear_errors(cache_dir, tmp_path, archive):
    with pytest.raises(ConfigError, match=r"data\.dataset.*'ntu99'"):
        RecognitionDataModule(dataset="ntu99")
    with pytest.raises(ConfigError, match="split of ntu60"):
        RecognitionDataModule(dataset="procedural", split="ntu60-55-5")
    with pytest.raises(ConfigError, match="unknown zero-shot split"):
        RecognitionDataModule(split="procedural-1-16")
    with pytest.raises(ConfigError, match=r"data\.path is required.*ntu60"):
        RecognitionDataModule(dataset="ntu60", split="ntu60-55-5")
    with pytest.raises(ConfigError, match=r"data\.path.*procedural"):
        RecognitionDataModule(path=str(archive[0]))
    with pytest.raises(ConfigError, match="holdout_validation"):
        RecognitionDataModule(split=None, holdout_validation=True, cache_dir=str(cache_dir))
    with pytest.raises(ConfigError, match="train_crop"):
        procedural(cache_dir, train_crop=(0.9, 0.5))
    with pytest.raises(ConfigError, match="test_crop"):
        procedural(cache_dir, test_crop=0.0)
    with pytest.raises(ConfigError, match="val_fraction"):
        procedural(cache_dir, val_fraction=1.0)


def test_archive_labels_outside_the_dataset_name_the_file(tmp_path):
    x = np.ones((3, 6, 2, 25, 3), np.float32)
    path = tmp_path / "ntu120-labels.npz"
    write_skeleton_npz(path, {"train": (x, np.array([0, 59, 100])), "test": (x, np.array([0, 1, 2]))})
    dm = ntu(path)
    with pytest.raises(DataError, match=r"ntu120-labels\.npz.*class id 100.*60 classes"):
        dm.setup("fit")
    only_train = tmp_path / "train-only.npz"
    write_skeleton_npz(only_train, {"train": (x, np.array([0, 1, 2]))})
    with pytest.raises(DataError, match=r"train-only\.npz.*x_test"):
        ntu(only_train).setup("test")
    with pytest.raises(DataError, match=r"missing\.npz"):
        ntu(tmp_path / "missing.npz").setup("test")
