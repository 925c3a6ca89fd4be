"""Prompt candidates (Table 4): the bank's candidates, random / motion / feature selection, ensembles, errors."""

import numpy as np
import pytest
import torch

from sic.data import InContextDataModule
from sic.data.batch import SkeletonBatch
from sic.models import CopyPrompt, LinearInterpolation, SkeletonInContext
from sic.tasks import InContextTask
from sic.utils.errors import ConfigError

F, J = 8, 17


@pytest.fixture
def dm(tiny_sources, cache_dir):
    dm = InContextDataModule(sources=tiny_sources, batch_size=8, cache_dir=str(cache_dir), prompt_candidates=4)
    dm.setup("test")
    return dm


def test_candidates_extend_the_default_prompt_and_share_the_query_draws(dm, tiny_sources, cache_dir):
    batch = dm.banks["test/joint_completion"].__getitems__(list(range(6)))
    assert batch.candidate_inputs.shape == (6, 4, *batch.prompt_inputs.shape[1:])
    assert batch.candidate_targets.shape == batch.candidate_inputs.shape
    assert torch.equal(batch.candidate_inputs[:, 0], batch.prompt_inputs)  # candidate 0 is the default prompt
    assert not torch.equal(batch.candidate_targets[:, 1], batch.candidate_targets[:, 2])  # other clips
    hidden = batch.candidate_inputs.abs().sum(-1) == 0  # every candidate hides the query's joints
    assert torch.equal(hidden[..., 1:], batch.mask[:, None, :, 1:].expand_as(hidden[..., 1:]))
    plain = InContextDataModule(sources=tiny_sources, batch_size=8, cache_dir=str(cache_dir))
    plain.setup("test")
    one = plain.banks["test/joint_completion"].__getitems__(list(range(6)))
    assert one.candidate_inputs is None and torch.equal(one.prompt_inputs, batch.prompt_inputs)  # K changes nothing
    moved = batch.select(torch.tensor([4, 1]))
    assert torch.equal(moved.candidate_targets, batch.candidate_targets[[4, 1]])


def _batch(b: int = 3, k: int = 4, seed: int = 0) -> SkeletonBatch:
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(b, F, J, 3, generator=g)
    cands = torch.randn(b, k, F, J, 3, generator=g)
    return SkeletonBatch(inputs=query, targets=query, task=torch.zeros(b, dtype=torch.long),
                         prompt_inputs=cands[:, 0], prompt_targets=cands[:, 0] + 1,
                         mask=torch.zeros(b, F, J, dtype=torch.bool), candidate_inputs=cands,
                         candidate_targets=cands + 1)  # fmt: skip


def test_motion_selection_ranks_by_mpjpe_between_inputs():
    batch = _batch()
    q, c = batch.inputs.numpy(), batch.candidate_inputs.numpy()
    mpjpe = np.linalg.norm(c - q[:, None], axis=-1).mean(axis=(-1, -2))  # (B, K)
    task = InContextTask(CopyPrompt(), prompt_selection="motion")
    assert torch.equal(task.rank_prompts(batch), torch.from_numpy(np.argsort(mpjpe, axis=1, kind="stable")))
    assert torch.equal(InContextTask(CopyPrompt()).rank_prompts(batch), torch.arange(4).expand(3, 4))


def test_a_candidate_equal_to_the_query_is_chosen_and_the_ensemble_averages():
    batch = _batch()
    batch.candidate_inputs[:, 2] = batch.inputs  # the closest candidate, by motion and by feature
    task = InContextTask(CopyPrompt(), prompt_selection="motion")
    assert torch.equal(task(batch), batch.candidate_targets[:, 2])  # Copy of the selected prompt's target
    ensemble = InContextTask(CopyPrompt(), prompt_selection="motion", prompt_ensemble=2)
    best = ensemble.rank_prompts(batch)[:, :2]
    rows = torch.arange(3)[:, None]
    torch.testing.assert_close(ensemble(batch), batch.candidate_targets[rows, best].mean(1))
    random = InContextTask(CopyPrompt(), prompt_ensemble=3)  # the first 3 candidates
    torch.testing.assert_close(random(batch), batch.candidate_targets[:, :3].mean(1))
    torch.manual_seed(0)
    net = SkeletonInContext(num_frames=F, dim=16, depth=2, num_heads=2, merge_layer=1).eval()
    assert net.prompt_features(batch.inputs).shape == (3, 16)
    feature = InContextTask(net, prompt_selection="feature")
    assert (feature.rank_prompts(batch)[:, 0] == 2).all()


def test_selection_errors_name_the_key():
    with pytest.raises(ConfigError, match="prompt_selection must be"):
        InContextTask(CopyPrompt(), prompt_selection="closest")
    with pytest.raises(ConfigError, match="prompt_ensemble must be >= 1"):
        InContextTask(CopyPrompt(), prompt_ensemble=0)
    with pytest.raises(ConfigError, match="CopyPrompt has none"):
        InContextTask(CopyPrompt(), prompt_selection="feature")
    with pytest.raises(ConfigError, match=r"data.prompt_candidates >= 2, got 1"):
        InContextTask(CopyPrompt(), prompt_selection="motion")._check_candidates(1, "data.prompt_candidates")
    with pytest.raises(ConfigError, match=r"needs data.prompt_candidates >= 5"):
        InContextTask(CopyPrompt(), prompt_ensemble=5)._check_candidates(4, "data.prompt_candidates")


def test_datamodule_candidate_errors(tiny_sources, cache_dir):
    with pytest.raises(ConfigError, match="prompt_candidates"):
        InContextDataModule(sources=tiny_sources, cache_dir=str(cache_dir), prompt_candidates=0)


def _interpolate_reference(x: np.ndarray) -> np.ndarray:
    """Per joint and coordinate, np.interp over the visible frames (held at the ends, zero if never visible)."""
    out = np.zeros_like(x)
    t = np.arange(x.shape[1])
    for b in range(x.shape[0]):
        for j in range(x.shape[2]):
            seen = np.flatnonzero(np.any(x[b, :, j] != 0, axis=-1))
            if len(seen):
                out[b, :, j] = np.stack([np.interp(t, seen, x[b, seen, j, c]) for c in range(x.shape[3])], -1)
    return out


def test_linear_interpolation_matches_numpy():
    g = np.random.default_rng(0)
    x = g.normal(size=(2, 10, 5, 3)).astype(np.float32)
    x[0, 3:7] = 0  # an in-between gap
    x[0, :2, 1] = 0  # hidden at the start: held
    x[1, 8:, 2] = 0  # hidden at the end: held
    x[1, :, 3] = 0  # never visible: zero
    x[1, g.random((10, 5)) < 0.3] = 0  # scattered joints
    pred = LinearInterpolation()(None, None, torch.from_numpy(x))
    np.testing.assert_allclose(pred.numpy(), _interpolate_reference(x), atol=1e-6)
    assert torch.equal(pred[0, 0, 0], torch.from_numpy(x[0, 0, 0]))  # visible joints pass through


def test_predict_task_and_items_choose_bank_clips(tiny_sources, cache_dir):
    dm = InContextDataModule(sources=tiny_sources, batch_size=4, cache_dir=str(cache_dir),
                             predict_task="pose_estimation", predict_items=[3, 0, 7])  # fmt: skip
    dm.setup("predict")
    (loader,) = dm.predict_dataloader()
    batches = list(loader)
    assert [b.meta["index"].tolist() for b in batches] == [[3, 0, 7]]
    assert set(batches[0].task.tolist()) == {1}  # pose_estimation
    outside = InContextDataModule(sources=tiny_sources, cache_dir=str(cache_dir), predict_task="pose_estimation",
                                  predict_items=[10**6])  # fmt: skip
    outside.setup("predict")
    with pytest.raises(ConfigError, match=r"predict_items \[1000000\] are outside the \d+ test items"):
        outside.predict_dataloader()
    with pytest.raises(ConfigError, match=r"predict_task 'walking' is not one of data\.tasks"):
        InContextDataModule(sources=tiny_sources, cache_dir=str(cache_dir), predict_task="walking")
    with pytest.raises(ConfigError, match=r"predict_items needs data\.predict_task"):
        InContextDataModule(sources=tiny_sources, cache_dir=str(cache_dir), predict_items=[1])

