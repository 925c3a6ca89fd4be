"""The pose tokenizer network and its quantizers."""

import pytest
import torch

from sic.models import EMAQuantizer, PoseVQVAE, VectorQuantizer, token_count
from sic.models.pose_vqvae import ConvPoseDecoder, ConvPoseEncoder


@pytest.mark.parametrize(
    ("joints", "base", "tokens", "lengths"),
    [(22, None, 80, (65, 51, 36, 22)), (17, None, 60, (49, 38, 27, 17)), (25, None, 100, (81, 62, 43, 25)), (17, 40, 80, None)],
)
def test_token_count_and_decoder_lengths(joints, base, tokens, lengths):
    assert token_count(joints, base_length=base) == tokens
    enc = ConvPoseEncoder(joints, hidden=8, out_dim=4, base_length=base)
    assert enc(torch.randn(2, joints, 3)).shape == (2, 4, tokens)
    dec = ConvPoseDecoder(joints, tokens, hidden=8, code_dim=4)
    if lengths is not None:
        assert dec.lengths == lengths
    assert dec(torch.randn(2, 4, tokens)).shape == (2, joints, 3)


def test_token_count_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="cannot tokenise"):
        token_count(3)  # floor(6 / 10) * 10 = 0


def test_vqvae_shapes_and_round_trip():
    vq = PoseVQVAE(num_joints=22, in_channels=6, hidden=16, code_dim=8, codebook_size=32).eval()
    poses = torch.randn(3, 4, 22, 6)
    out = vq(poses)
    assert out.poses.shape == poses.shape and out.ids.shape == (3, 4, 80)
    ids = vq.encode(poses)
    assert torch.equal(ids, out.ids)  # eval mode: no codebook update between the two calls
    assert torch.allclose(vq.decode(ids), out.poses, atol=1e-5)
    with pytest.raises(ValueError, match=r"end in \(22, 6\)"):
        vq(torch.randn(2, 17, 3))
    with pytest.raises(ValueError, match="80 tokens"):
        vq.decode(ids[..., :10])


def test_ema_initialises_from_first_batch_then_averages():
    q = EMAQuantizer(codebook_size=2, dim=1, decay=0.5)
    z0 = torch.tensor([[0.0], [10.0]])
    q(z0)  # init: the codebook holds the batch's vectors (shuffled), then one EMA step on the same batch
    assert sorted(q.codebook.flatten().tolist()) == pytest.approx([0.0, 10.0])
    # next batch: two vectors near 0 → code near 0 moves to the EMA of sums / counts
    low = int(q.codebook.flatten().argmin())
    count, total = q.ema_count[low].item(), q.ema_sum[low].item()
    q(torch.tensor([[1.0], [3.0], [10.0]]))
    expected = (0.5 * total + 0.5 * 4.0) / (0.5 * count + 0.5 * 2)
    assert q.codebook[low].item() == pytest.approx(expected)


def test_ema_resets_dead_codes_from_the_batch():
    torch.manual_seed(0)
    q = EMAQuantizer(codebook_size=4, dim=2, decay=0.9)
    q(torch.randn(64, 2))
    q.embedding[3] = 1e3  # far away: never chosen, its EMA count decays below 1
    q.ema_sum[3], q.ema_count[3] = 1e3, 1.0
    batch = torch.randn(64, 2)
    q(batch)
    assert q.codebook[3].abs().max() < 100  # re-seeded from (noisy copies of) batch vectors
    assert q.ema_count[3] == 1.0


def test_ema_loss_is_commitment_only_and_straight_through():
    q = EMAQuantizer(codebook_size=8, dim=4).eval()
    q.embedding.copy_(torch.randn(8, 4))
    z = torch.randn(16, 4, requires_grad=True)
    out = q(z)
    assert out.loss.item() == pytest.approx(torch.mean((z - q.codebook[out.ids]) ** 2).item(), rel=1e-5)
    out.codes.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))  # identity gradient past the lookup
    assert 1.0 <= out.perplexity.item() <= 8.0 and 0 < out.usage.item() <= 1.0


def test_plain_vq_learns_its_codebook():
    q = VectorQuantizer(codebook_size=8, dim=4, beta=0.25)
    z = torch.randn(16, 4, requires_grad=True)
    out = q(z)
    codes = q.codebook[out.ids].detach()
    expected = torch.mean((codes - z.detach()) ** 2) * 1.25
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    out.loss.backward()
    assert q.embedding.grad is not None and q.embedding.grad.abs().sum() > 0


def test_training_steps_lower_the_reconstruction_error_on_a_fixed_batch():
    torch.manual_seed(0)
    vq = PoseVQVAE(num_joints=17, hidden=32, code_dim=16, codebook_size=64)
    opt = torch.optim.Adam(vq.parameters(), lr=3e-3)
    poses = torch.randn(8, 1, 17, 3) * 0.3

    def step():
        out = vq(poses)
        loss = torch.mean((out.poses - poses) ** 2) + out.quantizer.loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    first = step()
    for _ in range(60):
        last = step()
    assert last < 0.75 * first
