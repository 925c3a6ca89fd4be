"""Optional dependencies: availability flags and one error message with the install hint.

Example:
    >>> from sic.utils.imports import module_available
    >>> module_available("numpy")
    True
"""

from __future__ import annotations

from lightning_utilities.core.imports import module_available

__all__ = ["module_available", "require"]


def require(module: str, extra: str) -> None:
    """Raise ``ModuleNotFoundError`` naming the ``sic`` extra that installs ``module`` if it is missing."""
    if not module_available(module):
        raise ModuleNotFoundError(f"{module} is needed here: pip install 'sic[{extra}]'")
