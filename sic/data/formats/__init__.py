"""Readers of native motion-capture formats: BVH and ASF/AMC (CMU, HDM05, studio exports).

Each reader returns joint positions in metres, y up, by forward kinematics, and raises
:class:`~sic.utils.errors.DataError` naming the file, line and what was expected for malformed or
truncated input. Line endings may be LF, CRLF or mixed; non-UTF-8 comment bytes are tolerated.

They are written here rather than taken from a package: the maintained BVH packages read only the
hierarchy and channels (no kinematics, no ASF/AMC), and none reports errors by file and line.
"""

from sic.data.formats.asf_amc import AsfSkeleton, amc_joints, read_amc, read_asf
from sic.data.formats.bvh import Bvh, read_bvh

__all__ = ["AsfSkeleton", "Bvh", "amc_joints", "read_amc", "read_asf", "read_bvh"]
