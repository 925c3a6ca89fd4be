"""Prepare a motion archive from Human3.6M in its VideoPose3D or MotionBERT form.

Run as one of::

    python tools/prepare_h36m.py --videopose3d data_3d_h36m.npz --detections data_2d_h36m_cpn_ft_h36m_dbb.npz -o OUT
    python tools/prepare_h36m.py --motionbert h36m_sh_conf_cam_source_final.pkl -o OUT

Both write one sequence per (subject, action, camera) with the H3.6M-17 joints, the 2D detections
of that camera and the camera itself; S1, S5, S6, S7, S8 are ``train`` and S9, S11 ``test`` (use
``val_split: test`` in the source, as MotionBERT validates on the test subjects). Labels are the 15
canonical action names, for per-action tables. Pickled content (VideoPose3D's object arrays,
MotionBERT's pickle) goes through the restricted unpickler.

* **VideoPose3D**: world positions (z-up, metres, 32 joints reduced to 17) turned y-up and put on
  the floor; cameras from the published calibration (the orientation quaternion maps camera to
  world axes; translations are the camera centres in mm). Detection arrays longer than the mocap
  are trimmed (as ``run.py`` does); files without confidences get confidence 1.
* **MotionBERT**: camera-frame data. The metric 3D pose is ``(joint3d_image - root) x 2.5d_factor``
  (mm, root-relative: MotionBERT's evaluation ground truth), stored in the camera frame turned y-up
  (``x, -y, -z``) with the camera ``R = diag(1, -1, -1)``, ``t = 0``; the pose-estimation target a
  task computes from it is therefore MotionBERT's 2.5D ground truth, and MPJPE in mm follows its
  protocol. The three S9 sequences with broken ground truth are left out of ``test``. These
  sequences are not levelled (the camera looks down): use them for the 2D tasks.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sic.data.motion import MotionRecord, ground_transform, write_motion_archive
from sic.data.prepare.common import run_cli, summarize
from sic.data.rotation import Z_UP_TO_Y_UP
from sic.utils.errors import DataError
from sic.utils.safe_pickle import load_npz_object, load_pickle

__all__ = ["CAMERAS", "EXTRINSICS", "main", "prepare_h36m_motionbert", "prepare_h36m_videopose3d"]

FPS = 50.0
SPLITS = {"S1": "train", "S5": "train", "S6": "train", "S7": "train", "S8": "train", "S9": "test", "S11": "test"}
KEEP_32 = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]  # original joints kept in H3.6M-17
BROKEN_S9 = ("s_09_act_05_subact_02", "s_09_act_10_subact_02", "s_09_act_13_subact_01")
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases", "Sitting",
           "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether")  # fmt: skip
_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog", "WalkingTogether": "WalkTogether"}

# Published calibration (VideoPose3D common/h36m_dataset.py): id, principal point, focal length (px), size.
CAMERAS = (
    ("54138969", (512.54150390625, 515.4514770507812), (1145.0494384765625, 1143.7811279296875), (1000, 1002)),
    ("55011271", (508.8486328125, 508.0649108886719), (1149.6756591796875, 1147.5916748046875), (1000, 1000)),
    ("58860488", (519.8158569335938, 501.40264892578125), (1149.1407470703125, 1148.7989501953125), (1000, 1000)),
    ("60457274", (514.9682006835938, 501.88201904296875), (1145.5113525390625, 1144.77392578125), (1000, 1002)),
)
# Per subject and camera: orientation quaternion (w, x, y, z; camera -> world axes), camera centre (mm).
EXTRINSICS = {
    "S1": (((0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088), (1841.1070556640625, 4955.28466796875, 1563.4454345703125)),
           ((0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205), (1761.278564453125, -5078.0068359375, 1606.2650146484375)),
           ((0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696), (-1846.7777099609375, 5215.04638671875, 1491.972412109375)),
           ((0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435), (-1794.7896728515625, -3722.698974609375, 1574.8927001953125))),
    "S5": (((0.1467377245426178, -0.162370964884758, -0.7551892995834351, 0.6178938746452332), (2097.3916015625, 4880.94482421875, 1605.732421875)),
           ((0.6159758567810059, -0.7626792192459106, -0.15728192031383514, 0.1189815029501915), (2031.7008056640625, -5167.93310546875, 1612.923095703125)),
           ((0.14291371405124664, -0.12907841801643372, 0.7678384780883789, -0.6110143065452576), (-1620.5948486328125, 5171.65869140625, 1496.43701171875)),
           ((0.5920479893684387, -0.7814217805862427, 0.1274748593568802, -0.15036417543888092), (-1637.1737060546875, -3867.3173828125, 1547.033203125))),
    "S6": (((0.1337897777557373, -0.15692396461963654, -0.7571090459823608, 0.6198879480361938), (1935.4517822265625, 4950.24560546875, 1618.0838623046875)),
           ((0.6147197484970093, -0.7628812789916992, -0.16174767911434174, 0.11819244921207428), (1969.803955078125, -5128.73876953125, 1632.77880859375)),
           ((0.1529948115348816, -0.13529130816459656, 0.7646096348762512, -0.6112781167030334), (-1769.596435546875, 5185.361328125, 1476.993408203125)),
           ((0.5916101336479187, -0.7804774045944214, 0.12832270562648773, -0.1561593860387802), (-1721.668701171875, -3884.13134765625, 1540.4879150390625))),
    "S7": (((0.1435241848230362, -0.1631336808204651, -0.7548328638076782, 0.6188824772834778), (1974.512939453125, 4926.3544921875, 1597.8326416015625)),
           ((0.6141672730445862, -0.7638262510299683, -0.1596645563840866, 0.1177929937839508), (1937.0584716796875, -5119.7900390625, 1631.5665283203125)),
           ((0.14550060033798218, -0.12874816358089447, 0.7660516500473022, -0.6127139329910278), (-1741.8111572265625, 5208.24951171875, 1464.8245849609375)),
           ((0.5912848114967346, -0.7821764349937439, 0.12445473670959473, -0.15196487307548523), (-1734.7105712890625, -3832.42138671875, 1548.5830078125))),
    "S8": (((0.14110587537288666, -0.15589867532253265, -0.7561917304992676, 0.619644045829773), (2150.65185546875, 4896.1611328125, 1611.9046630859375)),
           ((0.6169601678848267, -0.7647668123245239, -0.14846350252628326, 0.11158157885074615), (2219.965576171875, -5148.453125, 1613.0440673828125)),
           ((0.1471444070339203, -0.13377119600772858, 0.7670128345489502, -0.6100369691848755), (-1571.2215576171875, 5137.0185546875, 1498.1761474609375)),
           ((0.5927824378013611, -0.7825870513916016, 0.12147816270589828, -0.14631995558738708), (-1476.913330078125, -3896.7412109375, 1547.97216796875))),
    "S9": (((0.15540587902069092, -0.15548215806484222, -0.7532095313072205, 0.6199594736099243), (2044.45849609375, 4935.1171875, 1481.2275390625)),
           ((0.618784487247467, -0.7634735107421875, -0.14132238924503326, 0.11933968216180801), (1990.959716796875, -5123.810546875, 1568.8048095703125)),
           ((0.13357827067375183, -0.1367100477218628, 0.7689454555511475, -0.6100738644599915), (-1670.9921875, 5211.98583984375, 1528.387939453125)),
           ((0.5879399180412292, -0.7823407053947449, 0.1427614390850067, -0.14794869720935822), (-1696.04345703125, -3827.099853515625, 1591.4127197265625))),
    "S11": (((0.15232472121715546, -0.15442320704460144, -0.7547563314437866, 0.6191070079803467), (2098.440185546875, 4926.5546875, 1500.278564453125)),
            ((0.6189449429512024, -0.7600917220115662, -0.15300633013248444, 0.1255258321762085), (2083.182373046875, -4912.1728515625, 1561.07861328125)),
            ((0.14943228662014008, -0.15650227665901184, 0.7681233882904053, -0.6026304364204407), (-1609.8153076171875, 5177.3359375, 1537.896728515625)),
            ((0.5894251465797424, -0.7818877100944519, 0.13991211354732513, -0.14715361595153809), (-1590.738037109375, -3854.1689453125, 1578.017578125))),
}  # fmt: skip


def quaternion_matrix(q: tuple[float, ...]) -> np.ndarray:
    """Rotation matrix of a unit quaternion ``(w, x, y, z)``."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def action_label(name: str) -> str:
    """Canonical action of a VideoPose3D key (``'Walking 1'`` → ``'Walking'``, ``'TakingPhoto'`` → ``'Photo'``)."""
    base = re.sub(r"\s*\d+$", "", name.strip())
    return _ALIASES.get(base, base)


def _camera(subject: str, index: int, rot: np.ndarray, shift: np.ndarray) -> dict[str, np.ndarray]:
    """Camera ``index`` of ``subject`` in the y-up world, after the world moved by ``x -> rot x + shift``."""
    q, centre_mm = EXTRINSICS[subject][index]
    r = quaternion_matrix(q).T @ Z_UP_TO_Y_UP.T  # world (y-up) -> camera
    centre = Z_UP_TO_Y_UP @ (np.asarray(centre_mm) / 1000.0)
    r_new = r @ rot.T
    t = -r_new @ (rot @ centre + shift)
    _, c, f, size = CAMERAS[index]
    return {"R": r_new, "t": t, "f": np.asarray(f), "c": np.asarray(c), "size": np.asarray(size, dtype=np.float64)}


def prepare_h36m_videopose3d(positions: Path, detections: Path, output: Path, progress: bool = True) -> dict:
    """Convert VideoPose3D's ``data_3d_h36m.npz`` plus a ``data_2d_h36m_<name>.npz`` into ``output``."""
    pos3d = load_npz_object(positions, "positions_3d")
    pos2d = load_npz_object(detections, "positions_2d")
    for path, data in ((positions, pos3d), (detections, pos2d)):
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise DataError(f"{path}: expected {{subject: {{action: array}}}}, got {type(data).__name__}")
    records, skipped = {}, {}
    for subject in tqdm(sorted(pos3d), desc="H3.6M subjects", disable=not progress):
        if subject not in SPLITS:
            skipped[subject] = "not a subject with public 3D (S1, S5-S9, S11)"
            continue
        for action, joints in sorted(pos3d[subject].items()):
            joints = np.asarray(joints, dtype=np.float64)
            if joints.ndim != 3 or joints.shape[1:] not in ((32, 3), (17, 3)):
                raise DataError(f"{positions}: {subject}/{action}: expected (T, 32, 3) or (T, 17, 3), got {joints.shape}")
            views = pos2d.get(subject, {}).get(action)
            if views is None or len(views) != 4:
                raise DataError(f"{detections}: {subject}/{action}: expected 4 camera views of 2D detections")
            world = (joints[:, KEEP_32] if joints.shape[1] == 32 else joints) @ Z_UP_TO_Y_UP.T
            rot, shift = ground_transform(world, max_tilt_deg=0.0)  # H3.6M's floor is level: shift only
            world = (world @ rot.T + shift).astype(np.float32)
            for k, view in enumerate(views):
                view = np.asarray(view, dtype=np.float32)
                if view.ndim != 3 or view.shape[1] != 17 or view.shape[2] not in (2, 3) or len(view) < len(world):
                    raise DataError(f"{detections}: {subject}/{action} camera {k}: expected (>= {len(world)}, 17, 2 or 3) detections, got {view.shape}")
                view = view[: len(world)]
                if view.shape[2] == 2:
                    view = np.concatenate([view, np.ones_like(view[..., :1])], axis=-1)
                records[f"{subject}/{action}/{CAMERAS[k][0]}"] = MotionRecord(
                    world, FPS, "h36m17", action_label(action), subject, SPLITS[subject], view, _camera(subject, k, rot, shift)
                )  # fmt: skip
    if not records:
        raise DataError(f"{positions}: no Human3.6M sequences of subjects {sorted(SPLITS)}")
    write_motion_archive(output, records, name=output.name, notes={"source": f"Human3.6M (VideoPose3D form), 2D from {detections.name}",
                                                                   "licence": "Human3.6M: research licence; do not redistribute"})  # fmt: skip
    return summarize(output, records, skipped)


_MB_KEYS = ("joint_2d", "joint3d_image", "2.5d_factor", "camera_name", "action", "source")


def prepare_h36m_motionbert(pickle_path: Path, output: Path, keep_broken: bool = False, progress: bool = True) -> dict:
    """Convert MotionBERT's ``h36m_*_cam_source*.pkl`` into ``output`` (camera-frame, 2.5D metric targets)."""
    data = load_pickle(pickle_path, encoding="latin1")
    if not isinstance(data, dict) or not {"train", "test"} <= set(data):
        raise DataError(f"{pickle_path}: expected a dict with 'train' and 'test' splits")
    cameras = {c[0]: c for c in CAMERAS}
    records, skipped = {}, {}
    for split in ("train", "test"):
        part = data[split]
        missing = [k for k in _MB_KEYS if k not in part]
        if missing:
            raise DataError(f"{pickle_path}: split {split!r} is missing key(s) {missing}")
        n = len(part["joint_2d"])
        if any(len(part[k]) != n for k in _MB_KEYS):
            raise DataError(f"{pickle_path}: split {split!r}: arrays {list(_MB_KEYS)} must all have {n} frames")
        source = np.asarray(part["source"]).astype(str)
        bounds = np.flatnonzero(np.r_[True, source[1:] != source[:-1], True])
        conf = np.asarray(part.get("confidence", np.ones((n, 17))), dtype=np.float32).reshape(n, 17, 1)
        for lo, hi in tqdm(list(zip(bounds[:-1], bounds[1:])), desc=f"MotionBERT {split}", disable=not progress):
            name = source[lo]
            if not keep_broken and name[:-6] in BROKEN_S9:
                skipped[name] = "S9 sequence with broken ground truth (MotionBERT protocol)"
                continue
            cam = cameras.get(str(part["camera_name"][lo]))
            if cam is None:
                raise DataError(f"{pickle_path}: {name}: unknown camera {part['camera_name'][lo]!r}; expected one of {sorted(cameras)}")
            img = np.asarray(part["joint3d_image"][lo:hi], dtype=np.float64)
            factor = np.asarray(part["2.5d_factor"][lo:hi], dtype=np.float64).reshape(-1, 1, 1)
            metric = (img - img[:, :1]) * factor / 1000.0  # camera axes, metres, root-relative
            world = metric * np.array([1.0, -1.0, -1.0])  # y up
            subject = f"S{int(name.split('_')[1])}"
            uv = np.concatenate([np.asarray(part["joint_2d"][lo:hi], dtype=np.float32)[..., :2], conf[lo:hi]], axis=-1)
            camera = {"R": np.diag([1.0, -1.0, -1.0]), "t": np.zeros(3), "f": np.asarray(cam[2]), "c": np.asarray(cam[1]),
                      "size": np.asarray(cam[3], dtype=np.float64)}  # fmt: skip
            records[name] = MotionRecord(world.astype(np.float32), FPS, "h36m17", action_label(str(part["action"][lo])),
                                         subject, split, uv, camera)  # fmt: skip
    write_motion_archive(output, records, name=output.name, notes={"source": f"Human3.6M (MotionBERT form) from {pickle_path.name}",
                                                                   "frame": "camera frame turned y-up, root-relative; 2.5D metric",
                                                                   "licence": "Human3.6M: research licence; do not redistribute"})  # fmt: skip
    return summarize(output, records, skipped)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (exit 2 with a one-line error for bad input)."""
    p = argparse.ArgumentParser(prog="prepare_h36m.py", description=__doc__.split("\n\n")[0])
    form = p.add_mutually_exclusive_group(required=True)
    form.add_argument("--videopose3d", type=Path, metavar="data_3d_h36m.npz", help="VideoPose3D 3D positions")
    form.add_argument("--motionbert", type=Path, metavar="PKL", help="MotionBERT h36m_sh_conf_cam_source_final.pkl (or cpn)")
    p.add_argument("--detections", type=Path, help="with --videopose3d: data_2d_h36m_<name>.npz (sh_ft_h36m, cpn_ft_h36m_dbb, gt)")
    p.add_argument("-o", "--output", type=Path, required=True, help="motion archive directory to write")
    p.add_argument("--keep-broken", action="store_true", help="keep the three broken S9 sequences (MotionBERT form)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.videopose3d and not args.detections:
        p.error("--videopose3d needs --detections")
    if args.videopose3d:
        return run_cli(lambda: prepare_h36m_videopose3d(args.videopose3d, args.detections, args.output, not args.no_progress))
    return run_cli(lambda: prepare_h36m_motionbert(args.motionbert, args.output, args.keep_broken, not args.no_progress))
