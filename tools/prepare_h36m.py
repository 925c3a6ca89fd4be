#!/usr/bin/env python
"""Prepare a motion archive from Human3.6M (VideoPose3D or MotionBERT form); see ``--help`` and docs/datasets/h36m.md.

Examples:
    python tools/prepare_h36m.py --videopose3d data_3d_h36m.npz --detections data_2d_h36m_cpn_ft_h36m_dbb.npz -o data/h36m
    python tools/prepare_h36m.py --motionbert h36m_sh_conf_cam_source_final.pkl -o data/h36m-mb
"""

import sys

from sic.data.prepare.h36m import main

if __name__ == "__main__":
    sys.exit(main())
