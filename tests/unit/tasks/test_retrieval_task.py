"""Retrieval networks and RetrievalTask: shapes, normalisation, frozen word table, a training step helps."""

import pytest
import torch

from sic.data.batch import SkeletonBatch
from sic.models import GRUTextEncoder, PoseRetrievalEncoder, PoseTextRetrieval
from sic.tasks import RetrievalTask
from sic.text import TinyTextEncoder

CAPTIONS = ["the left arm is raised", "both knees are bent", "the torso leans forward", "the right hand is on the hip",
            "the legs are spread wide", "the person squats", "the arms are crossed", "the head is down"]  # fmt: skip


def make_net(num_poses=1):
    torch.manual_seed(0)
    poses = PoseRetrievalEncoder(num_joints=17, hidden=32, dim=24, num_poses=num_poses)
    return PoseTextRetrieval(poses, GRUTextEncoder(TinyTextEncoder(hidden_size=16), hidden=24, dim=24))


def batch_of(poses, texts):
    return SkeletonBatch(inputs=poses, targets=poses, task=torch.full((poses.shape[0],), -1),
                         meta={"index": torch.arange(poses.shape[0])}, texts=tuple(texts))  # fmt: skip


@pytest.mark.parametrize("num_poses", [1, 2])
def test_embeddings_are_unit_vectors_of_the_shared_size(num_poses):
    net = make_net(num_poses)
    poses, texts = net(torch.randn(5, num_poses, 17, 3), CAPTIONS[:5])
    assert poses.shape == texts.shape == (5, 24)
    torch.testing.assert_close(poses.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(texts.norm(dim=-1), torch.ones(5))
    with pytest.raises(ValueError, match=rf"\(B, {num_poses}, 17, 3\)"):
        net.encode_poses(torch.randn(5, 3, 17, 3))


def test_pair_encoder_depends_on_both_poses_in_order():
    net = make_net(2).eval()
    a, b = torch.randn(3, 1, 17, 3), torch.randn(3, 1, 17, 3)
    ab, ba = net.encode_poses(torch.cat([a, b], 1)), net.encode_poses(torch.cat([b, a], 1))
    assert not torch.allclose(ab, ba, atol=1e-4)


def test_text_encoder_ignores_padding_and_keeps_the_word_table_frozen():
    net = make_net()
    text = net.text_encoder
    alone = text(["the left arm is raised"])
    padded = text(["the left arm is raised", "a much longer caption that forces padding of the first one"])[:1]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)  # packed sequences: padding never read
    assert not text.backbone.word_embeddings.weight.requires_grad


def test_training_steps_raise_the_similarity_of_true_pairs():
    net = make_net()
    task = RetrievalTask(net)
    task.log = lambda *a, **k: None
    batch = batch_of(torch.randn(8, 1, 17, 3) * 0.3, CAPTIONS)
    table = net.text_encoder.backbone.word_embeddings.weight.clone()
    opt = task.configure_optimizers()
    losses = []
    for _ in range(30):
        loss = task.training_step(batch, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert torch.equal(table, net.text_encoder.backbone.word_embeddings.weight)
    assert task.loss.scale.item() != 10.0  # the learnable scale is optimised
    task.eval()
    task._eval_step("test", batch_of(batch.inputs, [t for t in CAPTIONS for _ in range(2)]))  # K = 2 captions
    values = task._epoch_metrics("test")
    assert values["test/retrieval/r10_t2p"] == 1.0  # 8 candidates: every partner is in the top 10
    assert values["test/retrieval/r1_t2p"] > 0.5


def test_scale_gets_its_own_group_when_asked():
    task = RetrievalTask(make_net(), scale_lr=0.1)
    opt = task.configure_optimizers()
    assert [g["lr"] for g in opt.param_groups][-1] == 0.1
    assert opt.param_groups[-1]["params"] == [task.loss.scale]


def test_init_weights_starts_from_a_checkpoint_and_names_bad_files(tmp_path):
    from sic.utils.errors import CheckpointError

    trained = RetrievalTask(make_net())
    with torch.no_grad():
        trained.loss.scale.fill_(12.5)
    torch.save({"state_dict": trained.state_dict()}, tmp_path / "stage1.ckpt")
    tuned = RetrievalTask(make_net(), init_weights=str(tmp_path / "stage1.ckpt"))
    assert tuned.loss.scale.item() == 12.5
    tensors = lambda m: {k: v for k, v in m.state_dict().items() if torch.is_tensor(v)}  # noqa: E731
    torch.testing.assert_close(tensors(tuned), tensors(trained))
    with pytest.raises(CheckpointError, match="does not exist"):
        RetrievalTask(make_net(), init_weights=str(tmp_path / "missing.ckpt"))
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.ckpt"):
        RetrievalTask(make_net(), init_weights=str(tmp_path / "junk.ckpt"))
    torch.save({"state_dict": {"net.unrelated": torch.zeros(1)}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="does not fit the model"):
        RetrievalTask(make_net(), init_weights=str(tmp_path / "other.ckpt"))
