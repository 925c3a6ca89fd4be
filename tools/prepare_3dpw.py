#!/usr/bin/env python
"""Prepare a motion archive from 3DPW sequence pickles; see ``--help`` and docs/datasets/3dpw.md.

Example:
    python tools/prepare_3dpw.py ~/data/3DPW -o data/3dpw
"""

import sys

from sic.data.prepare.pw3d import main

if __name__ == "__main__":
    sys.exit(main())
