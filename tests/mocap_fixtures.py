"""Tiny motion-capture files in the native formats, written by the tests themselves.

A CMU-like 31-bone skeleton (CMU bone names, hierarchy and DOFs; simple rest directions) is written
as ASF, its motion as AMC, and the same motion as a MotionBuilder-named CMU BVH (optionally with the
synthetic T-pose frame 0). ASF bones here have identity ``axis`` frames, so the AMC and BVH rotation
conventions coincide and both files describe exactly the same joint positions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sic.data.mocap import CMU_BVH_RELEASES
from sic.data.skeleton import get_layout

CMU = get_layout("cmu31")
# Rest bone vectors in ASF units (1 unit = 0.0254 / 0.45 m), y up, facing +z, subject's left at +x.
_LEFT = {"hipjoint": (1.2, -1.6, 0.4), "femur": (0.0, -7.2, 0.0), "tibia": (0.0, -7.3, 0.0), "foot": (0.0, -0.4, 2.2),
         "toes": (0.0, 0.0, 1.1), "clavicle": (3.2, 0.6, 0.0), "humerus": (0.0, -5.0, 0.0), "radius": (0.0, -3.5, 0.0),
         "wrist": (0.0, -1.8, 0.0), "hand": (0.0, -0.6, 0.0), "fingers": (0.0, -0.5, 0.0), "thumb": (0.3, -0.4, 0.3)}  # fmt: skip
_SPINE = {"lowerback": (0.0, 2.1, 0.0), "upperback": (0.0, 2.1, 0.0), "thorax": (0.0, 2.1, 0.0),
          "lowerneck": (0.0, 1.5, 0.0), "upperneck": (0.0, 1.5, 0.0), "head": (0.0, 1.5, 0.0)}  # fmt: skip
_DOFS = {"hipjoint": "", "femur": "rx ry rz", "tibia": "rx", "foot": "rx rz", "toes": "rx", "clavicle": "ry rz",
         "humerus": "rx ry rz", "radius": "rx", "wrist": "ry", "hand": "rx rz", "fingers": "rx", "thumb": "rx rz"}  # fmt: skip


def bone_vector(name: str) -> np.ndarray:
    if name in _SPINE:
        return np.asarray(_SPINE[name])
    v = np.asarray(_LEFT[name[1:]])
    return v if name[0] == "l" else v * [-1, 1, 1]


def bone_dofs(name: str) -> list[str]:
    if name == "root":
        return ["tx", "ty", "tz", "rx", "ry", "rz"]
    return ("rx ry rz" if name in _SPINE else _DOFS[name[1:]]).split()


def write_asf(path: Path, crlf: bool = False) -> Path:
    lines = ["# test skeleton", ":version 1.10", ":name VICON", ":units", "  mass 1.0", "  length 0.45", "  angle deg",
             ":root", "   order TX TY TZ RX RY RZ", "   axis XYZ", "   position 0 0 0", "   orientation 0 0 0", ":bonedata"]  # fmt: skip
    for i, name in enumerate(CMU.names[1:], 1):
        v = bone_vector(name)
        length = float(np.linalg.norm(v))
        lines += ["  begin", f"     id {i}", f"     name {name}", "     direction {:.6f} {:.6f} {:.6f}".format(*(v / length)),
                  f"     length {length:.6f}", "     axis 0 0 0  XYZ"]  # fmt: skip
        if bone_dofs(name):
            lines += [f"    dof {' '.join(bone_dofs(name))}", "    limits (-180.0 180.0)"]
            lines += ["           (-180.0 180.0)"] * (len(bone_dofs(name)) - 1)
        lines.append("  end")
    lines.append(":hierarchy")
    lines.append("  begin")
    for i, name in enumerate(CMU.names):
        children = [CMU.names[c] for c, p in enumerate(CMU.parents) if p == i]
        if children:
            lines.append(f"    {name} {' '.join(children)}")
    lines.append("  end")
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode() + b"\n")
    return path


def motion(frames: int, seed: int = 0, speed: float = 1.0) -> dict[str, np.ndarray]:
    """Smooth DOF values per bone (degrees; root translation in ASF units walking along +z)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 120.0
    out = {}
    for name in CMU.names:
        dofs = bone_dofs(name)
        if not dofs:
            continue
        if name == "root":
            z = speed / (0.0254 / 0.45) * t[:, 0]
            rot = 5.0 * np.sin(2 * np.pi * t + rng.uniform(0, 6, 3))
            out[name] = np.column_stack([np.zeros(frames), 16.6 + 0.2 * np.sin(4 * np.pi * t[:, 0]), z, rot])
        else:
            amp, phase = rng.uniform(5, 25, len(dofs)), rng.uniform(0, 6, len(dofs))
            out[name] = amp * np.sin(2 * np.pi * 1.1 * t + phase)
    return out


def write_amc(path: Path, values: dict[str, np.ndarray], crlf: bool = False, drop_last_line: bool = False) -> Path:
    frames = len(values["root"])
    lines = ["#!OML:ASF test.asf", ":FULLY-SPECIFIED", ":DEGREES"]
    for f in range(frames):
        lines.append(str(f + 1))
        lines += [f"{name} " + " ".join(f"{v:.6f}" for v in vals[f]) for name, vals in values.items()]
    if drop_last_line:
        lines = lines[:-1]
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode() + b"\n")
    return path


def write_bvh(path: Path, values: dict[str, np.ndarray], tpose: bool = True, names: str = "motionbuilder") -> Path:
    """The AMC motion as a CMU BVH (BVH joint = start of the ASF bone; offsets are the parent bone's vector)."""
    bvh_names = [n.split("|")[0] for n in CMU_BVH_RELEASES[names]]
    lines = ["HIERARCHY"]

    def joint(i: int, depth: int) -> None:
        pad = "\t" * depth
        head = "ROOT" if i == 0 else "JOINT"
        offset = np.zeros(3) if i == 0 else (bone_vector(CMU.names[CMU.parents[i]]) if CMU.parents[i] else np.zeros(3))
        chans = "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" if i == 0 else "CHANNELS 3 Zrotation Yrotation Xrotation"
        lines.extend([f"{pad}{head} {bvh_names[i]}", f"{pad}{{", f"{pad}\tOFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}", f"{pad}\t{chans}"])
        children = [c for c, p in enumerate(CMU.parents) if p == i]
        for c in children:
            joint(c, depth + 1)
        if not children:
            v = bone_vector(CMU.names[i])
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {v[0]:.6f} {v[1]:.6f} {v[2]:.6f}", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    frames = len(values["root"])
    rows = []
    for f in range(frames):
        row = []
        for name in CMU.names:
            v = dict(zip(bone_dofs(name), values.get(name, np.zeros((frames, 0)))[f]))
            if name == "root":
                row += [v["tx"], v["ty"], v["tz"]]
            row += [v.get("rz", 0.0), v.get("ry", 0.0), v.get("rx", 0.0)]
        rows.append(row)
    if tpose:
        t = np.zeros_like(rows[0])
        t[:3] = rows[0][:3]
        rows.insert(0, list(t))
    lines += ["MOTION", f"Frames:\t{len(rows)}", "Frame Time: .0083333"]
    lines += [" ".join(f"{x:.6f}" for x in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path
