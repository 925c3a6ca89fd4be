#!/usr/bin/env python
"""Prepare a motion archive from AMASS motion files; see ``--help`` and docs/datasets/amass.md.

Example:
    python tools/prepare_amass.py ~/data/amass -o data/amass --body-model ~/models/smplh
"""

import sys

from sic.data.prepare.amass import main

if __name__ == "__main__":
    sys.exit(main())
