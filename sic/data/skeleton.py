"""Skeleton joint layouts: one registry used by every data source, transform, model and metric.

A layout names the joints of a skeleton, their kinematic tree (``parents``, root ``-1``) and the
left/right pairs that swap under a horizontal flip. Graph quantities (bones, adjacency, Laplacian)
are derived from the tree, so a layout is fully defined by names and parents.

Example:
    >>> from sic.data.skeleton import get_layout
    >>> h36m = get_layout("h36m17")
    >>> h36m.num_joints, h36m.root, h36m.names[h36m.parents[3]]
    (17, 0, 'RKnee')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["LAYOUTS", "SkeletonLayout", "get_layout", "register_layout"]


@dataclass(frozen=True)
class SkeletonLayout:
    """A named joint layout.

    Args:
        name: registry key, e.g. ``"h36m17"``.
        names: joint names in index order.
        parents: parent index per joint, ``-1`` for the single root.
        flip_pairs: ``(left, right)`` index pairs swapped by a horizontal flip.
        description: where the layout comes from.
        parts: named body parts ``(name, joint indices)``: head, left/right arm, left/right leg
            (used by part-wise augmentation and part-level text methods).
    """

    name: str
    names: tuple[str, ...]
    parents: tuple[int, ...]
    flip_pairs: tuple[tuple[int, int], ...] = ()
    description: str = ""
    parts: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def __post_init__(self) -> None:
        if len(self.names) != len(self.parents):
            raise ValueError(f"layout {self.name!r}: {len(self.names)} names but {len(self.parents)} parents")
        roots = [i for i, p in enumerate(self.parents) if p == -1]
        if len(roots) != 1:
            raise ValueError(f"layout {self.name!r}: expected exactly one root (parent -1), found {roots}")
        for i, p in enumerate(self.parents):
            if p != -1 and not 0 <= p < len(self.parents):
                raise ValueError(f"layout {self.name!r}: joint {i} has parent {p} out of range")
        # Every joint must reach the root without revisiting a joint: the parents form a tree.
        for i in range(len(self.parents)):
            seen, j = set(), i
            while j != -1:
                if j in seen:
                    raise ValueError(f"layout {self.name!r}: parents contain a cycle through joint {j}")
                seen.add(j)
                j = self.parents[j]

    @property
    def num_joints(self) -> int:
        """Number of joints J."""
        return len(self.names)

    @property
    def root(self) -> int:
        """Index of the root joint."""
        return self.parents.index(-1)

    @cached_property
    def bones(self) -> np.ndarray:
        """``(J - 1, 2)`` int array of ``(parent, child)`` pairs in child order."""
        return np.array([(p, c) for c, p in enumerate(self.parents) if p != -1], dtype=np.int64)

    @property
    def body_parts(self) -> dict[str, tuple[int, ...]]:
        """Body part name → joint indices (empty if the layout declares none)."""
        return dict(self.parts)

    @cached_property
    def flip_permutation(self) -> np.ndarray:
        """``(J,)`` joint permutation that swaps every left/right pair."""
        perm = np.arange(self.num_joints)
        for left, right in self.flip_pairs:
            perm[left], perm[right] = right, left
        return perm

    @cached_property
    def adjacency(self) -> np.ndarray:
        """``(J, J)`` symmetric 0/1 float32 bone adjacency without self-loops."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        a[self.bones[:, 0], self.bones[:, 1]] = 1.0
        a[self.bones[:, 1], self.bones[:, 0]] = 1.0
        return a

    @cached_property
    def laplacian(self) -> np.ndarray:
        """``(J, J)`` symmetric normalised graph Laplacian ``I - D^-1/2 A D^-1/2`` (float32)."""
        a = self.adjacency
        d = 1.0 / np.sqrt(a.sum(1))
        return (np.eye(self.num_joints, dtype=np.float32) - d[:, None] * a * d[None, :]).astype(np.float32)

    def index(self, name: str) -> int:
        """Index of the joint called ``name``; raises ``KeyError`` naming the layout."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no joint {name!r}; joints: {', '.join(self.names)}") from None

    def depth_order(self) -> np.ndarray:
        """Joint indices ordered so that every parent precedes its children (for forward kinematics)."""
        depth = np.zeros(self.num_joints, dtype=np.int64)
        for i in range(self.num_joints):
            j = i
            while self.parents[j] != -1:
                depth[i] += 1
                j = self.parents[j]
        return np.argsort(depth, kind="stable")


LAYOUTS: dict[str, SkeletonLayout] = {}


def register_layout(layout: SkeletonLayout) -> SkeletonLayout:
    """Add ``layout`` to the registry (a later registration under the same name replaces it)."""
    LAYOUTS[layout.name] = layout
    return layout


def get_layout(name: str | SkeletonLayout) -> SkeletonLayout:
    """Look up a layout by name; an unknown name raises ``KeyError`` listing the known ones."""
    if isinstance(name, SkeletonLayout):
        return name
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown joint layout {name!r}; known layouts: {', '.join(sorted(LAYOUTS))}") from None


def _pairs(names: tuple[str, ...], left_prefix: str, right_prefix: str) -> tuple[tuple[int, int], ...]:
    """Left/right pairs found by swapping a name prefix (``L_knee`` ↔ ``R_knee``)."""
    out = []
    for i, n in enumerate(names):
        if n.startswith(left_prefix):
            other = right_prefix + n[len(left_prefix) :]
            if other in names:
                out.append((i, names.index(other)))
    return tuple(out)


_H36M_NAMES = (
    "Pelvis", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Spine", "Thorax",
    "Neck", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
)  # fmt: skip
H36M17 = register_layout(
    SkeletonLayout(
        name="h36m17",
        names=_H36M_NAMES,
        parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
        flip_pairs=((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16)),
        description="Human3.6M 17-joint layout (VideoPose3D/MotionBERT order); joint 9 is neck/nose.",
        parts=(("head", (9, 10)), ("left_arm", (11, 12, 13)), ("right_arm", (14, 15, 16)),
               ("left_leg", (4, 5, 6)), ("right_leg", (1, 2, 3))),  # fmt: skip
    )
)

_SMPL_NAMES = (
    "pelvis", "L_hip", "R_hip", "spine1", "L_knee", "R_knee", "spine2", "L_ankle", "R_ankle", "spine3",
    "L_foot", "R_foot", "neck", "L_collar", "R_collar", "head", "L_shoulder", "R_shoulder",
    "L_elbow", "R_elbow", "L_wrist", "R_wrist", "L_hand", "R_hand",
)  # fmt: skip
_SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
# UniPose's tokenizer parts (posegpt/models/pose_vqvae.py@14de673), indices of the 22 body joints
_SMPL_PARTS = (("head", (12, 15)), ("left_arm", (13, 16, 18, 20)), ("right_arm", (14, 17, 19, 21)),
               ("left_leg", (1, 4, 7, 10)), ("right_leg", (2, 5, 8, 11)))  # fmt: skip
SMPL24 = register_layout(
    SkeletonLayout(
        name="smpl24",
        names=_SMPL_NAMES,
        parents=_SMPL_PARENTS,
        flip_pairs=_pairs(_SMPL_NAMES, "L_", "R_"),
        description="SMPL body joints (24, with hands); canonical frame y-up, facing +z, subject's left at +x.",
        parts=tuple((n, j + ((22,) if n == "left_arm" else (23,) if n == "right_arm" else ())) for n, j in _SMPL_PARTS),
    )
)
SMPL22 = register_layout(
    SkeletonLayout(
        name="smpl22",
        names=_SMPL_NAMES[:22],
        parents=_SMPL_PARENTS[:22],
        flip_pairs=_pairs(_SMPL_NAMES[:22], "L_", "R_"),
        description="SMPL body joints without the two hand joints (AMASS/3DPW prediction protocols).",
        parts=_SMPL_PARTS,
    )
)

_NTU_NAMES = (
    "SpineBase", "SpineMid", "Neck", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight", "SpineShoulder", "HandTipLeft", "ThumbLeft",
    "HandTipRight", "ThumbRight",
)  # fmt: skip
NTU25 = register_layout(
    SkeletonLayout(
        name="ntu25",
        names=_NTU_NAMES,
        # The Kinect SDK tree: hand tip hangs off the hand and the thumb off the wrist (CTR-GCN's graph
        # instead chains tip -> thumb -> hand); documented in docs/concepts.md.
        parents=(-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 6, 11, 10),
        flip_pairs=tuple(
            (_NTU_NAMES.index(n), _NTU_NAMES.index(n.replace("Left", "Right"))) for n in _NTU_NAMES if "Left" in n
        ),
        description="NTU RGB+D Kinect v2 25-joint layout (Kinect SDK tree).",
        parts=(("head", (2, 3)), ("left_arm", (4, 5, 6, 7, 21, 22)), ("right_arm", (8, 9, 10, 11, 23, 24)),
               ("left_leg", (12, 13, 14, 15)), ("right_leg", (16, 17, 18, 19))),  # fmt: skip
    )
)

_CMU_NAMES = (
    "root", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "rhipjoint", "rfemur", "rtibia", "rfoot",
    "rtoes", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "lclavicle", "lhumerus",
    "lradius", "lwrist", "lhand", "lfingers", "lthumb", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand",
    "rfingers", "rthumb",
)  # fmt: skip
CMU31 = register_layout(
    SkeletonLayout(
        name="cmu31",
        names=_CMU_NAMES,
        parents=(-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 13, 17, 18, 19, 20, 21, 20, 13, 24, 25,
                 26, 27, 28, 27),  # fmt: skip
        flip_pairs=_pairs(_CMU_NAMES, "l", "r"),
        description="CMU ASF bone order (31 joints = bone end points, root = pelvis).",
        parts=(("head", (14, 15, 16)), ("left_arm", (17, 18, 19, 20, 21, 22, 23)),
               ("right_arm", (24, 25, 26, 27, 28, 29, 30)), ("left_leg", (1, 2, 3, 4, 5)),
               ("right_leg", (6, 7, 8, 9, 10))),  # fmt: skip
    )
)
