#!/usr/bin/env python
"""Prepare an NTU RGB+D recognition archive from the raw .skeleton files; see ``--help`` and docs/datasets/ntu-pku.md.

Example:
    python tools/prepare_ntu.py --raw nturgb+d_skeletons --benchmark ntu60-xsub \\
        --missing NTU_RGBD_samples_with_missing_skeletons.txt --workers 8 -o data/ntu/NTU60_CS.npz
"""

import sys

from sic.data.prepare.ntu import main

if __name__ == "__main__":
    sys.exit(main())
