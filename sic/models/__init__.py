"""Networks: plain ``nn.Module`` classes with tensor-in, tensor-out forwards (no Lightning here).

Example:
    >>> from sic.models import SkeletonInContext
    >>> SkeletonInContext(dim=32, depth=2, num_heads=4, merge_layer=1).num_joints
    17
"""

from sic.models.baselines import CopyPrompt
from sic.models.pose_vqvae import PoseVQVAE, token_count
from sic.models.quantizers import EMAQuantizer, VectorQuantizer
from sic.models.retrieval import GRUTextEncoder, PoseRetrievalEncoder, PoseTextRetrieval
from sic.models.sic import EncodedPrompt, SkeletonInContext

__all__ = [
    "CopyPrompt",
    "EMAQuantizer",
    "EncodedPrompt",
    "GRUTextEncoder",
    "PoseRetrievalEncoder",
    "PoseTextRetrieval",
    "PoseVQVAE",
    "SkeletonInContext",
    "VectorQuantizer",
    "token_count",
]
