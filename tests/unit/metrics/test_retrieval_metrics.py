"""Retrieval recall against a brute-force numpy reference; the BBC loss against a hand-written one."""

import numpy as np
import pytest
import torch

from sic.losses import BBCLoss
from sic.metrics import CodebookUsage, RetrievalRecall, retrieval_ranks


def numpy_recall(queries: np.ndarray, gallery: np.ndarray, k: int) -> float:
    """Full argsort per query; ties broken against the query (partner placed after equal scores)."""
    hits = 0
    for i, q in enumerate(queries):
        scores = gallery @ q
        order = sorted(range(len(gallery)), key=lambda j: (-scores[j], j != i and scores[j] == scores[i], j == i))
        hits += order.index(i) < k
    return hits / len(queries)


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.mark.parametrize("chunk", [3, 1024])
def test_recall_matches_numpy_in_both_directions_averaged_over_captions(chunk):
    rng = np.random.default_rng(0)
    poses = unit(rng.normal(size=(40, 8)))
    texts = unit(poses[:, None] + 0.8 * rng.normal(size=(40, 3, 8)))  # 3 noisy captions per pose
    metric = RetrievalRecall(ks=(1, 5, 10), chunk=chunk)
    for rows in (slice(0, 17), slice(17, 40)):  # two batches
        metric.update(torch.tensor(poses[rows], dtype=torch.float32), torch.tensor(texts[rows], dtype=torch.float32))
    out = metric.compute()
    for k in (1, 5, 10):
        t2p = np.mean([numpy_recall(texts[:, c], poses, k) for c in range(3)])
        p2t = np.mean([numpy_recall(poses, texts[:, c], k) for c in range(3)])
        assert out[f"r{k}_t2p"].item() == pytest.approx(t2p, abs=1e-6)
        assert out[f"r{k}_p2t"].item() == pytest.approx(p2t, abs=1e-6)
    six = [out[f"r{k}_{d}"].item() for k in (1, 5, 10) for d in ("t2p", "p2t")]
    assert out["mrecall"].item() == pytest.approx(np.mean(six))
    assert 0.0 < out["r1_t2p"].item() < out["r10_t2p"].item() <= 1.0


def test_ties_count_against_the_query():
    same = torch.ones(4, 2) / 2**0.5  # identical captions: no text can single out its pose
    ranks = retrieval_ranks(same, same)
    assert ranks.tolist() == [3, 3, 3, 3]
    metric = RetrievalRecall(ks=(1,))
    metric.update(same, same)
    assert metric.compute()["r1_t2p"].item() == 0.0


def test_empty_metric_is_nan_and_bad_shapes_are_named():
    assert torch.isnan(RetrievalRecall().compute()["mrecall"])
    with pytest.raises(ValueError, match=r"texts must be \(B, K, D\)"):
        RetrievalRecall().update(torch.zeros(3, 4), torch.zeros(2, 1, 4))


def test_bbc_loss_matches_a_hand_written_cross_entropy():
    rng = np.random.default_rng(1)
    x, y = unit(rng.normal(size=(5, 4))), unit(rng.normal(size=(5, 4)))
    s = 10.0 * x @ y.T

    def ce(scores):
        scores = scores - scores.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(scores).sum(1)) - np.diag(scores)))

    loss = BBCLoss(symmetric=False)(torch.tensor(x), torch.tensor(y))
    assert loss.item() == pytest.approx(ce(s), rel=1e-6)
    sym = BBCLoss()(torch.tensor(x), torch.tensor(y))
    assert sym.item() == pytest.approx(0.5 * (ce(s) + ce(s.T)), rel=1e-6)
    sym.backward()
    loss_module = BBCLoss()
    assert loss_module.scale.item() == 10.0 and loss_module.scale.requires_grad


def test_codebook_usage_and_perplexity():
    m = CodebookUsage(codebook_size=8)
    m.update(torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    out = m.compute()
    assert out["codebook_usage"].item() == 0.5
    assert out["perplexity"].item() == pytest.approx(4.0)
