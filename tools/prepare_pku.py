#!/usr/bin/env python
"""Prepare a PKU-MMD phase I recognition archive (one sample per action); see ``--help`` and docs/datasets/ntu-pku.md.

Example:
    python tools/prepare_pku.py --skeletons PKU_Skeleton_Renew --labels Train_Label_PKU_final \\
        --split Split/cross-subject.txt -o data/pku/pkuv1_xsub.npz
"""

import sys

from sic.data.prepare.pku import main

if __name__ == "__main__":
    sys.exit(main())
