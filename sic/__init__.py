"""sic: skeleton-sequence modelling on one skeleton bank, driven by PyTorch Lightning.

Example:
    >>> import sic
    >>> sic.__version__
    '0.1.0'
"""

__version__ = "0.1.0"
