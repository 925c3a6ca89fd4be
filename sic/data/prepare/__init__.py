"""Dataset preparation: raw downloads → motion archives (driven by the ``tools/prepare_*.py`` scripts)."""
