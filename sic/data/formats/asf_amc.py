"""Acclaim ASF (skeleton) and AMC (motion) files, as used by CMU MoCap and HDM05.

Forward kinematics follows the Acclaim convention (``docs/datasets/mocap.md``): every bone has a
local frame ``C`` from its ``axis`` line; a frame's rotation ``M = Rz(rz)·Ry(ry)·Rx(rx)`` from the
bone's DOF values acts in that frame, ``L = C·M·C⁻¹``; globally ``R = R_parent·L`` and the bone's end
point is ``p_parent + R·direction·length``. Joint ``i`` of the result is the end point of bone ``i``
(the root's is the root position), so for CMU files the joints are in the ``cmu31`` layout order.

Units: ASF lengths are ``inches / length`` (``:units length 0.45`` in CMU and HDM05), so metres =
units × 0.0254 / length. The world is y up.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from sic.data.formats.asf_amc import read_asf, read_amc, amc_joints
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "s.asf").write_text(
    ...     ":units\\n length 0.45\\n angle deg\\n:root\\n order TX TY TZ RX RY RZ\\n axis XYZ\\n"
    ...     " position 0 0 0\\n orientation 0 0 0\\n:bonedata\\n begin\\n id 1\\n name shin\\n"
    ...     " direction 0 -1 0\\n length 9\\n axis 0 0 0 XYZ\\n dof rx\\n end\\n"
    ...     ":hierarchy\\n begin\\n root shin\\n end\\n")
    >>> _ = (d / "s.amc").write_text(":FULLY-SPECIFIED\\n:DEGREES\\n1\\nroot 0 18 0 0 0 0\\nshin 90\\n")
    >>> skel = read_asf(d / "s.asf")
    >>> (amc_joints(skel, read_amc(d / "s.amc", skel)) * 1000).round().tolist()  # millimetres
    [[[0.0, 1016.0, 0.0], [0.0, 1016.0, -508.0]]]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sic.data.rotation import euler_matrix
from sic.utils.errors import DataError

__all__ = ["AmcMotion", "AsfSkeleton", "amc_joints", "read_amc", "read_asf"]

INCH = 0.0254


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a text file with any line endings; undecodable bytes (e.g. Latin-1 comments) kept."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a file") from None
    return raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass
class AsfSkeleton:
    """An ASF skeleton: the root plus bones in file order (index 0 is the root).

    Attributes:
        names: bone names, ``names[0] == "root"``.
        parents: parent index per bone (``-1`` for the root).
        directions: ``(J, 3)`` unit bone directions in the global rest frame.
        lengths: ``(J,)`` bone lengths in file units.
        axes: ``(J, 3, 3)`` local-frame rotations ``C`` built from the ``axis`` lines.
        dofs: per bone, its rotational/translational DOF names in file order (``rx``, ``ty`` ...).
        length_unit: the ``:units length`` value (metres = units × 0.0254 / length_unit).
        degrees: angles in degrees (``angle deg``) rather than radians.
        root_position: ``(3,)`` root offset in file units.
        path: the file it was read from.
    """

    names: list[str]
    parents: list[int]
    directions: np.ndarray
    lengths: np.ndarray
    axes: np.ndarray
    dofs: list[list[str]]
    length_unit: float = 0.45
    degrees: bool = True
    root_position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    path: Path | None = None

    @property
    def scale(self) -> float:
        """Metres per file length unit."""
        return INCH / self.length_unit

    def order(self) -> list[int]:
        """Bone indices with every parent before its children."""
        out, children = [0], {i: [j for j, p in enumerate(self.parents) if p == i] for i in range(len(self.names))}
        for i in out:
            out.extend(children[i])
        return out


def _floats(tokens: list[str], n: int, where: str, what: str) -> np.ndarray:
    try:
        values = [float(t) for t in tokens[:n]]
    except ValueError:
        values = []
    if len(values) != n:
        raise DataError(f"{where}: {what} needs {n} numbers, got {' '.join(tokens) or 'none'!r}")
    return np.asarray(values)


def _axis_matrix(angles: np.ndarray, order: str, degrees: bool) -> np.ndarray:
    """``C`` of an ``axis ax ay az ORDER`` line: the first listed axis is applied first."""
    radians = np.deg2rad(angles) if degrees else angles
    by_axis = dict(zip("xyz", radians))
    rev = order.lower()[::-1]
    return euler_matrix(rev, np.array([by_axis[a] for a in rev]))


def _sections(lines: list[str]) -> dict[str, list[tuple[int, list[str]]]]:
    """``:keyword`` sections of an ASF file as lists of (line number, tokens)."""
    out: dict[str, list[tuple[int, list[str]]]] = {}
    current = None
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if tokens[0].startswith(":"):
            current = tokens[0][1:].lower()
            out.setdefault(current, [])
            if len(tokens) > 1:
                out[current].append((n, tokens[1:]))
        elif current is not None:
            out[current].append((n, tokens))
    return out


def read_asf(path: str | os.PathLike) -> AsfSkeleton:
    """Read an ASF skeleton file.

    Raises:
        DataError: the file is missing, lacks ``:bonedata``/``:hierarchy``, or a bone block is
            malformed; the message names the file and line.
    """
    path = Path(path)
    sections = _sections(read_lines(path))
    for key in ("bonedata", "hierarchy"):
        if key not in sections:
            raise DataError(f"{path}: not an ASF skeleton (no :{key} section)")
    units = {t[0].lower(): t[1] for _, t in sections.get("units", []) if len(t) >= 2}
    try:
        length_unit = float(units.get("length", 1.0))
    except ValueError:
        raise DataError(f"{path}: :units length must be a number, got {units['length']!r}") from None
    degrees = units.get("angle", "deg").lower().startswith("deg")
    root = {t[0].lower(): (n, t[1:]) for n, t in sections.get("root", [])}
    root_pos = _floats(root["position"][1], 3, f"{path}:{root['position'][0]}", "root position") if "position" in root else np.zeros(3)
    root_order = [t.lower() for t in root.get("order", (0, ["TX", "TY", "TZ", "RX", "RY", "RZ"]))[1]]

    names, dirs, lengths, axes, dofs = ["root"], [np.zeros(3)], [0.0], [np.eye(3)], [root_order]
    bone: dict[str, tuple[int, list[str]]] | None = None
    for n, tokens in sections["bonedata"]:
        key = tokens[0].lower()
        if key == "begin":
            bone = {}
        elif key == "end":
            if bone is None:
                raise DataError(f"{path}:{n}: 'end' without 'begin' in :bonedata")
            for required in ("name", "direction", "length"):
                if required not in bone:
                    raise DataError(f"{path}:{n}: bone block ending here has no {required!r} line")
            where = f"{path}:{bone['name'][0]}"
            names.append(bone["name"][1][0])
            d = _floats(bone["direction"][1], 3, where, "direction")
            dirs.append(d / max(np.linalg.norm(d), 1e-12))
            lengths.append(float(_floats(bone["length"][1], 1, where, "length")[0]))
            if "axis" in bone:
                ln, t = bone["axis"]
                order = t[3] if len(t) > 3 else "XYZ"
                if sorted(order.lower()) != ["x", "y", "z"]:
                    raise DataError(f"{path}:{ln}: axis order must be a permutation of XYZ, got {order!r}")
                axes.append(_axis_matrix(_floats(t, 3, f"{path}:{ln}", "axis"), order, degrees))
            else:
                axes.append(np.eye(3))
            dofs.append([t.lower() for t in bone.get("dof", (0, []))[1]])
            bone = None
        elif bone is not None and key not in bone:
            bone[key] = (n, tokens[1:])
    if bone is not None:
        raise DataError(f"{path}: truncated :bonedata (a bone block has no 'end')")

    index = {name: i for i, name in enumerate(names)}
    parents = [-2] * len(names)
    parents[0] = -1
    for n, tokens in sections["hierarchy"]:
        if tokens[0].lower() in ("begin", "end"):
            continue
        for name in tokens:
            if name not in index:
                raise DataError(f"{path}:{n}: :hierarchy names unknown bone {name!r}")
        for child in tokens[1:]:
            parents[index[child]] = index[tokens[0]]
    orphans = [names[i] for i, p in enumerate(parents) if p == -2]
    if orphans:
        raise DataError(f"{path}: bones {orphans} have no parent in :hierarchy")
    skeleton = AsfSkeleton(
        names=names, parents=parents, directions=np.stack(dirs), lengths=np.asarray(lengths), axes=np.stack(axes),
        dofs=dofs, length_unit=length_unit, degrees=degrees, root_position=root_pos, path=path,
    )  # fmt: skip
    if len(skeleton.order()) != len(names):
        raise DataError(f"{path}: :hierarchy does not form a tree rooted at 'root'")
    return skeleton


@dataclass
class AmcMotion:
    """Per-frame DOF values of an AMC file.

    Attributes:
        values: bone name → ``(T, len(dof))`` values in the skeleton's DOF order (file units/angles).
        first_frame: number of the first frame in the file (1 for CMU).
        path: the file it was read from.
    """

    values: dict[str, np.ndarray]
    first_frame: int
    path: Path | None = None

    @property
    def num_frames(self) -> int:
        """Frames ``T``."""
        return len(next(iter(self.values.values())))


def read_amc(path: str | os.PathLike, skeleton: AsfSkeleton) -> AmcMotion:
    """Read an AMC motion for ``skeleton``.

    Raises:
        DataError: naming the file, line and bone for an unknown bone, a wrong number of values, a
            frame missing a bone (e.g. a truncated last frame) or a file without frames.
    """
    path = Path(path)
    expected = {name: len(d) for name, d in zip(skeleton.names, skeleton.dofs) if d}
    rows: dict[str, list[list[float]]] = {name: [] for name in expected}
    frame, frame_line, first, seen = None, 0, None, set()

    def close_frame() -> None:
        missing = [b for b in expected if b not in seen]
        if missing:
            raise DataError(
                f"{path}: frame {frame} (line {frame_line}) has no values for bone(s) {missing}; "
                f"expected one line per bone with DOFs (truncated file?)"
            )

    for n, line in enumerate(read_lines(path), 1):
        tokens = line.split()
        if not tokens or tokens[0].startswith(("#", ":")):
            continue
        if len(tokens) == 1 and tokens[0].isdigit():
            if frame is not None:
                close_frame()
            frame, frame_line, seen = int(tokens[0]), n, set()
            first = frame if first is None else first
            continue
        if frame is None:
            raise DataError(f"{path}:{n}: bone values before the first frame number")
        name = tokens[0]
        if name not in expected:
            raise DataError(f"{path}:{n}: bone {name!r} is not a bone with DOFs in skeleton {skeleton.path}")
        if name in seen:
            raise DataError(f"{path}:{n}: bone {name!r} listed twice in frame {frame}")
        want = expected[name]
        values = _floats(tokens[1:], want, f"{path}:{n}", f"bone {name!r} (dof {' '.join(skeleton.dofs[skeleton.names.index(name)])})")
        if len(tokens) - 1 != want:
            raise DataError(f"{path}:{n}: bone {name!r} has {len(tokens) - 1} values, expected {want}")
        rows[name].append(values.tolist())
        seen.add(name)
    if frame is None:
        raise DataError(f"{path}: no frames (expected frame numbers followed by bone lines)")
    close_frame()
    return AmcMotion({k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}, first_frame=first or 1, path=path)


def amc_joints(skeleton: AsfSkeleton, motion: AmcMotion, scale: float | None = None) -> np.ndarray:
    """Bone end points ``(T, J, 3)`` float32 in metres (y up) by forward kinematics.

    Args:
        skeleton: from :func:`read_asf`.
        motion: from :func:`read_amc` with the same skeleton.
        scale: metres per file unit (default ``0.0254 / length_unit``).
    """
    scale = skeleton.scale if scale is None else scale
    t = motion.num_frames
    rot = np.zeros((len(skeleton.names), t, 3, 3))
    pos = np.zeros((len(skeleton.names), t, 3))
    for i in skeleton.order():
        dof = skeleton.dofs[i]
        values = motion.values.get(skeleton.names[i], np.zeros((t, 0)))
        by_name = dict(zip(dof, values.T))
        angles = np.stack([by_name.get(a, np.zeros(t)) for a in ("rz", "ry", "rx")], axis=-1)
        if skeleton.degrees:
            angles = np.deg2rad(angles)
        c = skeleton.axes[i]
        local = c @ euler_matrix("zyx", angles) @ c.T
        if i == 0:
            shift = np.stack([by_name.get(a, np.zeros(t)) for a in ("tx", "ty", "tz")], axis=-1)
            rot[0], pos[0] = local, (skeleton.root_position + shift) * scale
            continue
        p = skeleton.parents[i]
        rot[i] = rot[p] @ local
        pos[i] = pos[p] + rot[i] @ (skeleton.directions[i] * skeleton.lengths[i] * scale)
    return np.ascontiguousarray(pos.transpose(1, 0, 2), dtype=np.float32)
