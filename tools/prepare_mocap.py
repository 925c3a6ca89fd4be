#!/usr/bin/env python
"""Prepare a motion archive from BVH or ASF/AMC files; see ``--help`` and docs/datasets/mocap.md.

Example:
    python tools/prepare_mocap.py ../shared/data/mocap/cmu -o data/cmu --split time
"""

import sys

from sic.data.prepare.mocap import main

if __name__ == "__main__":
    sys.exit(main())
