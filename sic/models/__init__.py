"""Networks: plain ``nn.Module`` classes with tensor-in, tensor-out forwards (no Lightning here).

Example:
    >>> from sic.models import SkeletonInContext
    >>> SkeletonInContext(dim=32, depth=2, num_heads=4, merge_layer=1).num_joints
    17
"""

from sic.models.baselines import CopyPrompt, LinearInterpolation, MaskedFrameInContext
from sic.models.gatfun import GATFUN_SIZES, GAtFuN
from sic.models.lifter import PoseAdaptiveLifter
from sic.models.pose_context import ContextGating, GaussianTemporalPooling, SpectralSpatialPooling
from sic.models.pose_vqvae import PoseVQVAE, token_count
from sic.models.prompting import PoseAdaptivePrompt
from sic.models.quantizers import EMAQuantizer, VectorQuantizer
from sic.models.retrieval import GRUTextEncoder, PoseRetrievalEncoder, PoseTextRetrieval
from sic.models.shift_gcn import ShiftGCN, ShiftGCNOutput, load_shift_gcn_weights
from sic.models.sic import EncodedPrompt, SkeletonInContext
from sic.models.skeleton_context import SkeletonContext, SkeletonContextOutput

__all__ = [
    "GATFUN_SIZES",
    "ContextGating",
    "CopyPrompt",
    "LinearInterpolation",
    "EMAQuantizer",
    "EncodedPrompt",
    "GAtFuN",
    "GRUTextEncoder",
    "GaussianTemporalPooling",
    "MaskedFrameInContext",
    "PoseAdaptiveLifter",
    "PoseAdaptivePrompt",
    "PoseRetrievalEncoder",
    "PoseTextRetrieval",
    "PoseVQVAE",
    "ShiftGCN",
    "ShiftGCNOutput",
    "SkeletonContext",
    "SkeletonContextOutput",
    "SkeletonInContext",
    "SpectralSpatialPooling",
    "VectorQuantizer",
    "load_shift_gcn_weights",
    "token_count",
]
