#!/usr/bin/env python
"""Caption any bank: poses or pose pairs with automatic captions; see ``--help`` and docs/methods/pose-captions.md.

Example:
    python tools/caption_bank.py -o data/captions/procedural --captions 3 --num-poses 2000 200 200
"""

import sys

from sic.data.prepare.captions import main

if __name__ == "__main__":
    sys.exit(main())
