"""Recover and render the pose sequence a trained SiC's task-unified prompt encodes (paper §5.5, Fig. 6).

The run's config builds the network and its data; the checkpoint's weights are loaded (``weights_only``). The
tool writes ``tup_pose.npy`` (the recovered ``(F, J, 3)`` sequence), ``mean_pose.npy`` (the training set's
mean target, what a static TUP embeds) and, with ``--animate``, ``tup.gif`` showing both; it prints the cosine
similarity reached and the MPJPE between the two sequences.

    python tools/inspect_tup.py -c configs/experiments/sic-quickstart.yaml \
        --ckpt runs/sic-quickstart/checkpoints/last.ckpt --out runs/tup --animate
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from sic.cli import check_checkpoint, load_run
from sic.models.inspect import unified_prompt_pose
from sic.utils.errors import SicError
from sic.utils.io import atomic_save_npy, atomic_write_text


def load(configs: list[str], ckpt: str):
    """``(network, datamodule)`` of a run: built from ``configs``, weights from ``ckpt``."""
    check_checkpoint(ckpt)
    model, datamodule = load_run([a for c in configs for a in ("-c", c)])
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    model.net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})
    return model.net, datamodule


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", action="append", required=True, help="the run's config(s), in order")
    parser.add_argument("--ckpt", required=True, help="the trained checkpoint")
    parser.add_argument("--objective", choices=["cosine", "least_squares"], default="cosine")
    parser.add_argument("--steps", type=int, default=500, help="Adam steps of the cosine objective")
    parser.add_argument("--out", type=Path, default=Path("runs/tup"))
    parser.add_argument("--animate", action="store_true", help="also write tup.gif (pip install 'sic[viz]')")
    args = parser.parse_args(argv)
    try:
        net, dm = load(args.config, args.ckpt)
        pose, similarity = unified_prompt_pose(net, args.objective, steps=args.steps)
        mean = dm.mean_target_pose()[0]
    except (SicError, ValueError) as e:
        sys.exit(f"error: {' '.join(str(e).split())}")
    mpjpe = float(torch.linalg.vector_norm(pose - mean, dim=-1).mean()) * 1000
    scale = float(torch.linalg.vector_norm(mean, dim=-1).mean()) * 1000
    atomic_save_npy(args.out / "tup_pose.npy", pose.numpy())
    atomic_save_npy(args.out / "mean_pose.npy", mean.numpy())
    summary = {"tup": net.tup, "objective": args.objective, "cosine_similarity": similarity,
               "mpjpe_to_mean_pose_mm": mpjpe, "mean_pose_joint_distance_mm": scale}  # fmt: skip
    atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    if args.animate:
        from sic.callbacks import render_animation

        fps = next(iter(dm.task_fps.values()), 25.0)
        render_animation([("TUP pose", pose.numpy(), None), ("training mean pose", mean.numpy(), None)],
                         np.asarray(dm.layout.bones), args.out / "tup.gif", fps=fps)  # fmt: skip
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
