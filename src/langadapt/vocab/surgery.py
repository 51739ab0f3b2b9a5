"""Model surgery: a new masked LM with the target vocabulary, built from the source model and an `InitPlan`.

Every vocabulary tensor of the source (input embeddings, an untied decoder, the MLM output bias; found through
``get_input_embeddings``/``get_output_embeddings``, not by shape, so an equal-size vocabulary is mapped too) is
mapped with the *same* plan, so new token i never inherits old token i's bias (the truncation bug of
``resize_token_embeddings``, which is not used here). All other weights, including the MLM head transform
(``lm_head.dense``/``layer_norm``, BERT's ``cls.predictions.transform``), are copied unchanged. A source
without an MLM head (a sentence encoder such as e5) gets the architecture's ``*ForMaskedLM`` with a freshly
initialised head transform, a zero bias and the decoder tied to the new embeddings.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from typing import Any

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel

from .plan import InitPlan

try:
    from transformers.initialization import no_init_weights
except ImportError:  # older transformers: initialise normally
    no_init_weights = contextlib.nullcontext

logger = logging.getLogger(__name__)


class SourceModelError(ValueError):
    """The source model cannot be adapted (e.g. it has no input embeddings)."""


def source_has_mlm_head(model: PreTrainedModel) -> bool:
    return model.get_output_embeddings() is not None


def with_mlm_head(model: PreTrainedModel, seed: int) -> PreTrainedModel:
    """The source itself if it has an MLM head, else its ``*ForMaskedLM`` with the encoder weights and a fresh head."""
    if model.get_input_embeddings() is None:
        raise SourceModelError(f"source model {type(model).__name__} has no input embeddings to replace")
    if source_has_mlm_head(model):
        return model
    config = copy.deepcopy(model.config)
    config.tie_word_embeddings = True
    torch.manual_seed(seed)  # the fresh head transform is deterministic under the seed
    try:
        masked_lm = AutoModelForMaskedLM.from_config(config)
    except ValueError as err:
        raise SourceModelError(f"no masked-LM architecture for {type(model).__name__}: {err}") from err
    result = masked_lm.base_model.load_state_dict(model.state_dict(), strict=False)
    if result.missing_keys:
        raise SourceModelError(f"encoder weights missing when adding an MLM head: {result.missing_keys[:5]}")
    if result.unexpected_keys:  # e.g. BERT's pooler, which masked LM does not use
        logger.info("dropped source weights the masked LM has no use for: %s", result.unexpected_keys)
    with torch.no_grad():
        masked_lm.get_output_embeddings().bias.zero_()
    masked_lm.tie_weights()
    logger.info(
        "source %s has no MLM head: built %s with a fresh head", type(model).__name__, type(masked_lm).__name__
    )
    return masked_lm


def load_source_model(name_or_path: str, revision: str | None = None) -> tuple[PreTrainedModel, Any, bool]:
    """(masked LM, tokenizer, had_mlm_head) for a Hub id or local directory."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(name_or_path, revision=revision)
    architectures = config.architectures or []
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision)
    if any(a.endswith("ForMaskedLM") for a in architectures):
        model = AutoModelForMaskedLM.from_pretrained(name_or_path, revision=revision)
        return model, tokenizer, True
    if not architectures:  # unknown: load as masked LM and see whether the checkpoint had the head
        model, info = AutoModelForMaskedLM.from_pretrained(name_or_path, revision=revision, output_loading_info=True)
        prefix = model.base_model_prefix + "."
        had_head = not any(not key.startswith(prefix) for key in info["missing_keys"])
        return model, tokenizer, had_head
    model = AutoModel.from_pretrained(name_or_path, revision=revision)
    return model, tokenizer, source_has_mlm_head(model)


def _special_ids(tokenizer: Any) -> dict[str, int | None]:
    return {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id,
        "eos_token_id": tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id,
    }


def _vocabulary_parameters(model: PreTrainedModel) -> dict[str, torch.nn.Parameter]:
    """State-dict key → parameter for the vocabulary tensors: input embeddings, output matrix, output bias.

    Found through the modules, never by shape: when the target vocabulary has as many tokens as the source's,
    every vocabulary tensor already has the wanted shape and still has to go through the plan. A parameter
    reachable under several names (XLM-R's ``lm_head.bias`` is ``lm_head.decoder.bias``; a tied decoder is the
    embedding matrix) appears under each of them, and so does a parameter the model declares tied to one of them
    even where the tie is off (transformers 5 ties ``lm_head.bias`` to ``lm_head.decoder.bias`` only when
    ``tie_word_embeddings`` is set; otherwise the head keeps a separate vocabulary-sized bias).
    """
    wanted = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None:
        wanted.append(output.weight)
        if getattr(output, "bias", None) is not None:
            wanted.append(output.bias)
    wanted_ids = {id(parameter) for parameter in wanted}
    parameters = dict(model.named_parameters(remove_duplicate=False))
    names = {name for name, parameter in parameters.items() if id(parameter) in wanted_ids}
    declared_ties = getattr(model, "_tied_weights_keys", None)
    if isinstance(declared_ties, dict):  # transformers 5: {tied name: name it is tied to}
        for tied, target in declared_ties.items():
            if {tied, target} & names:
                names |= {tied, target} & set(parameters)
    return {name: parameters[name] for name in names}


def build_target_model(
    source: PreTrainedModel, plan: InitPlan, target_tokenizer: Any, seed: int, random_bias: str = "mean"
) -> PreTrainedModel:
    """A new masked LM of the source's architecture whose vocabulary tensors are the plan applied to the source's."""
    source_vocab_size = source.get_input_embeddings().weight.shape[0]
    if source_vocab_size != plan.source_vocab_size:
        raise SourceModelError(
            f"source embeddings have {source_vocab_size} rows but the source tokenizer has {plan.source_vocab_size} "
            "tokens; pass the tokenizer that belongs to the source model"
        )
    config = copy.deepcopy(source.config)
    config.vocab_size = plan.vocab_size
    for key, value in _special_ids(target_tokenizer).items():
        setattr(config, key, value)
    config.architectures = [type(source).__name__]
    with no_init_weights():  # every weight is loaded below (missing keys are an error), so skip random init
        target = type(source)(config)
    target_state = target.state_dict()
    vocabulary = _vocabulary_parameters(source)
    mapped: dict[str, torch.Tensor] = {}
    by_parameter: dict[int, torch.Tensor] = {}  # tied tensors (several keys, one parameter) are mapped once, shared
    for index, (key, tensor) in enumerate(source.state_dict().items()):
        if key not in target_state:
            continue
        wanted = target_state[key].shape
        parameter = vocabulary.get(key)
        if parameter is None:  # not a vocabulary tensor: copied, whatever the two vocabulary sizes are
            if tensor.shape != wanted:
                raise SourceModelError(f"cannot map source tensor {key} {tuple(tensor.shape)} to {tuple(wanted)}")
            mapped[key] = tensor
            continue
        if tensor.shape[0] != source_vocab_size or wanted != (plan.vocab_size, *tensor.shape[1:]):
            raise SourceModelError(
                f"vocabulary tensor {key} {tuple(tensor.shape)} does not map to {tuple(wanted)} "
                f"({source_vocab_size} source rows, {plan.vocab_size} new rows)"
            )
        if id(parameter) not in by_parameter:
            generator = torch.Generator().manual_seed(seed * 1000 + index)
            by_parameter[id(parameter)] = plan.apply(tensor, generator, random_bias)
            logger.info("mapped %s %s → %s", key, tuple(tensor.shape), tuple(wanted))
        mapped[key] = by_parameter[id(parameter)]
    result = target.load_state_dict(mapped, strict=False)
    if result.missing_keys:
        raise SourceModelError(f"new model weights left unset: {result.missing_keys[:5]}")
    target.tie_weights()
    output = target.get_output_embeddings()
    if getattr(config, "tie_word_embeddings", True) and output.weight is not target.get_input_embeddings().weight:
        raise SourceModelError("the decoder should be tied to the input embeddings but is not after surgery")
    return target
