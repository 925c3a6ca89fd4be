"""NpyPromptDataModule: one prompt pair broadcast to the queries, hidden joints, the static-TUP stand-in."""

import numpy as np
import pytest
import torch

from sic.data import TASK_IDS, NpyPromptDataModule
from sic.utils.errors import ConfigError, DataError

F, J = 6, 17


def _save(tmp_path, **arrays) -> dict[str, str]:
    paths = {}
    for key, array in arrays.items():
        np.save(tmp_path / f"{key}.npy", array)
        paths[key] = str(tmp_path / f"{key}.npy")
    return paths


def test_one_pair_serves_every_query_and_zeros_are_hidden(tmp_path):
    g = np.random.default_rng(0)
    pin, ptgt, qin = (g.normal(size=s).astype(np.float32) for s in ((F, J, 3), (F, J, 3), (3, F, J, 2)))
    qin[1, 2:4] = 0  # frames hidden in query 1
    dm = NpyPromptDataModule(**_save(tmp_path, prompt_input=pin, prompt_target=ptgt, query_input=qin), batch_size=2)
    dm.setup("predict")
    batch = dm.batch
    assert batch.prompt_inputs.shape == (3, F, J, 3) and torch.equal(batch.prompt_targets[2], torch.from_numpy(ptgt))
    assert torch.equal(batch.inputs[..., 2], torch.zeros(3, F, J))  # 2D queries get a zero depth
    assert batch.mask[1, 2:4].all() and not batch.mask[0].any()
    assert batch.task.tolist() == [TASK_IDS.index("motion_inbetween")] * 3
    assert [b.batch_size for b in dm.predict_dataloader()] == [2, 1]
    assert (dm.num_frames, dm.num_joints, dm.task_fps) == (F, J, {"motion_inbetween": 50.0})
    torch.testing.assert_close(dm.mean_target_pose()[0], torch.from_numpy(ptgt))
    assert dm.mean_target_pose(per_task=True).shape == (len(TASK_IDS), F, J, 3)
    with pytest.raises(ConfigError, match=r"needs data\.query_target"):
        dm.test_dataloader()


def test_configuration_errors(tmp_path):
    paths = _save(tmp_path, prompt_input=np.zeros((F, J, 3)), prompt_target=np.zeros((F, J, 3)),
                  query_input=np.zeros((2, F, J, 3)))  # fmt: skip
    with pytest.raises(ConfigError, match=r"data\.layout: unknown joint layout .h37."):
        NpyPromptDataModule(**paths, layout="h37")
    with pytest.raises(DataError, match="holds 3 prompt pairs for 2 queries"):
        three = _save(tmp_path, prompt_input=np.zeros((3, F, J, 3)), prompt_target=np.zeros((3, F, J, 3)))
        NpyPromptDataModule(**{**paths, **three}).setup()
    with pytest.raises(DataError, match="must hold a numeric array"):
        NpyPromptDataModule(**{**paths, **_save(tmp_path, query_input=np.array(["a", "b"]))}).setup()
