import numpy as np
import pytest
import torch

from sic.data.bank import TaskBank
from sic.data.samplers import EvalShardSampler, ResumableDataLoader, TrainStreamSampler
from sic.data.sources import ProceduralSource
from sic.data.tasks import get_task


def _shards(world: int, **kw) -> list[list[tuple[int, int]]]:
    return [list(TrainStreamSampler(rank=r, num_replicas=world, **kw)) for r in range(world)]


@pytest.mark.parametrize("weights", [None, np.r_[np.ones(10), np.zeros(10) + 3.0]])
def test_ranks_split_one_global_stream_without_overlap(weights):
    single = list(TrainStreamSampler(20, num_samples=30, weights=weights, seed=5))
    shards = _shards(3, size=20, num_samples=30, weights=weights, seed=5)
    assert all(len(s) == 10 for s in shards)
    merged = [shards[i % 3][i // 3] for i in range(30)]  # rank r holds stream positions r, r+3, ...
    assert merged == single
    draws = [d for s in shards for _, d in s]
    assert sorted(draws) == list(range(30))  # every stream position exactly once


def test_uneven_stream_pads_so_every_rank_steps_equally():
    shards = _shards(4, size=10, num_samples=10, seed=0)
    assert [len(s) for s in shards] == [3, 3, 3, 3]
    assert len({d for s in shards for _, d in s}) == 10


def test_epochs_differ_and_repeat():
    s = TrainStreamSampler(50, seed=1)
    first = list(s)
    s.set_epoch(1)
    second = list(s)
    assert [i for i, _ in first] != [i for i, _ in second]
    assert sorted(i for i, _ in first) == list(range(50))  # uniform: a permutation per epoch
    assert {d for _, d in second} == set(range(50, 100))  # draws continue across epochs
    s.set_epoch(0)
    assert list(s) == first


def test_weights_set_the_task_mix():
    weights = np.r_[np.full(100, 0.9 / 100), np.full(100, 0.1 / 100)]
    items = np.array([i for i, _ in TrainStreamSampler(200, num_samples=20000, weights=weights, seed=0)])
    assert abs((items < 100).mean() - 0.9) < 0.01


def test_bad_rank_and_weights_are_refused():
    with pytest.raises(ValueError, match="rank"):
        TrainStreamSampler(10, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="weights"):
        TrainStreamSampler(3, weights=np.array([1.0, -1.0, 1.0]))


def test_eval_shards_are_whole_batches_without_repeats():
    shards = [list(EvalShardSampler(23, batch_size=4, num_replicas=3, rank=r)) for r in range(3)]
    batches = [list(range(b * 4, min(b * 4 + 4, 23))) for b in range(6)]
    for r, shard in enumerate(shards):
        assert shard == [i for b in batches[r::3] for i in b]
    assert sorted(i for s in shards for i in s) == list(range(23))
    assert list(EvalShardSampler(3, batch_size=4, num_replicas=2, rank=1)) == []  # a rank may get none


class _Echo(torch.utils.data.Dataset):
    """Returns what the sampler gave: ``(item, draw)`` pairs."""

    def __len__(self) -> int:
        return 100

    def __getitem__(self, index):
        return index


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_resumes_after_the_batches_it_handed_out(workers):
    ds = _Echo()

    def make():
        return ResumableDataLoader(ds, batch_size=4, sampler=TrainStreamSampler(len(ds), seed=3), collate_fn=list,
                                   num_workers=workers, persistent_workers=workers > 0)  # fmt: skip

    full = make()
    full.sampler.set_epoch(2)
    batches = [[i for i, _ in b] for b in full]
    partial = make()
    partial.sampler.set_epoch(2)
    it = iter(partial)
    seen = [[i for i, _ in next(it)] for _ in range(7)]
    state = partial.state_dict()
    assert state == {"epoch": 2, "batches": 7}
    resumed = make()
    resumed.load_state_dict(state)
    rest = [[i for i, _ in b] for b in resumed]
    assert seen + rest == batches
    assert resumed.state_dict() == {"epoch": 2, "batches": 25}
    resumed.sampler.set_epoch(3)  # the stored position belonged to epoch 2 only
    assert len(list(resumed)) == 25


def test_bank_draw_keys_vary_augmentation_reproducibly(tmp_path):
    src = ProceduralSource(clips_per_split={"train": 8, "val": 4, "test": 4})
    train = {"joint_completion": [src.load("train", 16, tmp_path)]}
    bank = TaskBank([get_task("joint_completion")], train, train, num_frames=16, seed=7)
    a, b, again = (bank.__getitems__(pairs) for pairs in ([(0, 0), (0, 1)], [(0, 1)], [(0, 0), (0, 1)]))
    assert torch.equal(a.inputs, again.inputs) and torch.equal(a.mask, again.mask)
    assert not torch.equal(a.mask[0], a.mask[1])  # same clip, another draw: other masked joints
    assert torch.equal(a.mask[1], b.mask[0])  # a draw's augmentation does not depend on the batch
    assert torch.equal(bank.__getitems__([0]).mask, bank.__getitems__([(0, 0)]).mask)  # draw 0 = plain item
    with pytest.raises(IndexError):
        bank.__getitems__([(0, -1)])
