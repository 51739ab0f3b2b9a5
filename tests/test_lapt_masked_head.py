"""The masked-only forward's savings stay exact: the last layer on the labelled rows only (padded and packed
batches, eager and SDPA attention, LoRA, gradient checkpointing) and the in-place tied-weight gradient."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from transformers import BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.lapt import FlopCounter, disable_masked_only_head, enable_masked_only_head
from langadapt.lapt.masked_head import last_layer_work, mlm_loss
from langadapt.lapt.packing import PackedMLMCollator, attach_attention_mask, position_offset

VOCAB = 60


def tiny_model(kind: str = "xlmr", attention: str = "sdpa", tied: bool = True, layers: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    common = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, type_vocab_size=1, max_position_embeddings=40,
        attn_implementation=attention, tie_word_embeddings=tied,
    )  # fmt: skip
    if kind == "xlmr":
        model = XLMRobertaForMaskedLM(XLMRobertaConfig(pad_token_id=1, **common))
    else:
        model = BertForMaskedLM(BertConfig(pad_token_id=0, **common))
    with torch.no_grad():  # a non-zero output bias, so its gradient is checked too
        model.get_output_embeddings().bias.normal_(0, 0.5)
    return model


def padded_batch(model, seed: int = 0) -> dict[str, torch.Tensor]:
    """Three rows of 16, the first padded after 11 (with the pad id); ~30% of the real positions labelled, and
    every row has at least one label. One attended position holds the pad id too: nn.Embedding gives its row no
    gradient from the lookup, though the position is attended."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, VOCAB, (3, 16), generator=g)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, 11:] = 0
    input_ids[attention_mask == 0] = model.config.pad_token_id
    input_ids[2, 5] = model.config.pad_token_id
    chosen = (torch.rand(3, 16, generator=g) < 0.3) & attention_mask.bool()
    chosen[:, 1] = True
    chosen[2, 5] = False
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def packed_batch(model, seed: int = 0) -> dict[str, torch.Tensor]:
    """Six lines packed into rows of 20 with the 4D block-diagonal mask."""
    g = torch.Generator().manual_seed(seed)
    examples = []
    for n in (12, 5, 9, 3, 14, 7):
        ids = torch.randint(5, VOCAB, (n,), generator=g).tolist()
        chosen = torch.rand(n, generator=g) < 0.3
        chosen[0] = True
        examples.append({"input_ids": ids, "labels": [t if c else -100 for t, c in zip(ids, chosen.tolist())]})
    config = model.config
    batch = PackedMLMCollator(config.pad_token_id, row_length=20, first_position=position_offset(config))(examples)
    return attach_attention_mask(batch, torch.float32)


def stock_loss_and_grads(model, batch, **kwargs):
    """The stock head on every position, langadapt's loss formula."""
    disable_masked_only_head(model)
    model.zero_grad(set_to_none=True)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs).logits
    loss = mlm_loss(logits.view(-1, logits.shape[-1]), batch["labels"].view(-1), **kwargs)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def masked_only_loss_and_grads(model, batch, **options):
    assert enable_masked_only_head(model, **options)
    model.zero_grad(set_to_none=True)
    loss = model(**batch).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    disable_masked_only_head(model)
    return loss.detach(), grads


def assert_same(ours, stock):
    (loss, grads), (stock_loss, stock_grads) = ours, stock
    torch.testing.assert_close(loss, stock_loss, rtol=1e-5, atol=1e-6)
    assert grads.keys() == stock_grads.keys()
    for name in grads:
        torch.testing.assert_close(grads[name], stock_grads[name], rtol=1e-4, atol=1e-6, msg=name)


class RowCounts:
    """Leading sizes of the inputs of the last layer's key projection and FFN, per call."""

    def __init__(self, model):
        layer = model.base_model.encoder.layer[-1]
        self.key, self.ffn = [], []
        layer.attention.self.key.register_forward_hook(lambda m, args, out: self.key.append(args[0].shape[:-1]))
        layer.intermediate.register_forward_hook(lambda m, args, out: self.ffn.append(args[0].shape[:-1]))


class OpNames(TorchDispatchMode):
    """(name, output shape) of the ATen operations run inside the block (the backward pass included)."""

    def __init__(self):
        super().__init__()
        self.ops: list[tuple[str, tuple[int, ...] | None]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops.append((func.overloadpacket.__name__, tuple(out.shape) if torch.is_tensor(out) else None))
        return out

    def word_embedding_backward(self) -> bool:
        """Whether the dense [vocab, hidden] embedding gradient was built (position embeddings have their own)."""
        return ("embedding_dense_backward", (VOCAB, 32)) in self.ops


# --- the last layer on the labelled rows --------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["padded", "packed"])
@pytest.mark.parametrize("attention", ["eager", "sdpa"])
@pytest.mark.parametrize("kind", ["xlmr", "bert"])
def test_last_layer_on_labelled_rows_gives_the_stock_loss_and_gradients(kind, attention, layout):
    model = tiny_model(kind, attention)
    batch = padded_batch(model) if layout == "padded" else packed_batch(model)
    stock = stock_loss_and_grads(model, batch)
    counts = RowCounts(model)
    assert_same(masked_only_loss_and_grads(model, batch), stock)
    labelled = int((batch["labels"] != -100).sum())
    assert counts.key[-1] == batch["input_ids"].shape  # keys and values: every position
    assert counts.ffn[-1] == (labelled,)  # feed-forward block: the labelled rows only


def test_last_layer_work_and_flops_count_what_is_computed():
    model = tiny_model()
    labels = torch.full((2, 10), -100)
    labels[0, [1, 4, 7]] = 5
    labels[1, 2] = 6
    enable_masked_only_head(model)
    assert last_layer_work(model, labels) == (4, 2 * 3)  # 4 rows; queries padded to the row with 3 labels
    assert last_layer_work(model, torch.full((2, 10), -100)) is None  # nothing labelled: the full layer runs
    enable_masked_only_head(model, last_layer=False)
    assert last_layer_work(model, labels) is None
    disable_masked_only_head(model)
    assert last_layer_work(model, labels) is None

    counter = FlopCounter(hidden_size=8, intermediate_size=32, num_layers=3, vocab_size=50)
    d, f, length, positions = 8, 32, 10, 20
    full_layer = 8 * d * d + 4 * d * f + 4 * length * d
    assert counter.body_forward(2, length, (positions, positions)) == counter.body_forward(2, length)
    last = positions * 4 * d * d + 6 * (2 * d * d + 4 * length * d) + 4 * (2 * d * d + 4 * d * f)
    assert counter.body_forward(2, length, (4, 6)) == positions * 2 * full_layer + last
    counter.add_batch(2, length, 4, body_trains=True, last_layer_rows_and_slots=(4, 6))
    assert counter.body == 3 * (positions * 2 * full_layer + last)


def test_lora_on_query_and_value_applies_in_the_last_layer():
    peft = pytest.importorskip("peft")
    model = tiny_model()
    model = peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=["query", "value"]))
    with torch.no_grad():  # LoRA's B starts at zero; make the adapter change the function
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.3)
    batch = padded_batch(model)
    last_query = model.base_model.model.roberta.encoder.layer[-1].attention.self.query
    lora_inputs = []
    last_query.lora_A["default"].register_forward_hook(lambda m, args, out: lora_inputs.append(args[0].shape))
    stock = stock_loss_and_grads(model, batch)
    lora_inputs.clear()
    ours = masked_only_loss_and_grads(model, batch)
    assert any("lora_A" in name for name in ours[1]) and not any("word_embeddings" in name for name in ours[1])
    assert_same(ours, stock)
    most_labelled = int((batch["labels"] != -100).sum(dim=1).max())
    assert lora_inputs == [(3, most_labelled, 32)]  # the queries of the labelled rows went through LoRA


def test_gradient_checkpointing_keeps_the_stock_gradients():
    model = tiny_model(layers=3).train()  # dropout is 0: train mode only switches checkpointing on
    model.gradient_checkpointing_enable()
    batch = padded_batch(model)
    assert_same(masked_only_loss_and_grads(model, batch), stock_loss_and_grads(model, batch))


def test_all_hidden_states_requested_keeps_the_full_last_layer():
    model = tiny_model()
    batch = padded_batch(model)
    counts = RowCounts(model)
    enable_masked_only_head(model)
    model(**batch, output_hidden_states=True)
    assert counts.ffn[-1] == batch["input_ids"].shape


def test_dropout_in_training_runs_and_restores_the_modules():
    model = tiny_model()
    model.config.hidden_dropout_prob = 0.1
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.1
    model.train()
    enable_masked_only_head(model)
    loss = model(**padded_batch(model)).loss
    loss.backward()
    assert torch.isfinite(loss)
    # nothing stays patched after the forward pass
    for module in (model.roberta.encoder.layer[-1], model.get_input_embeddings(), model.get_output_embeddings()):
        assert "forward" not in vars(module)


# --- one in-place gradient for the tied embedding / decoder weight -------------------------------------------------
@pytest.mark.parametrize("kind", ["xlmr", "bert"])
def test_tied_weight_gets_one_gradient_without_the_dense_embedding_backward(kind):
    model = tiny_model(kind)
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    batch = padded_batch(model)  # holds an attended pad id: its row must get no gradient from the lookup
    stock = stock_loss_and_grads(model, batch)
    with OpNames() as ops:
        ours = masked_only_loss_and_grads(model, batch)
    assert not ops.word_embedding_backward() and ("index_put_", (VOCAB, 32)) in ops.ops
    assert_same(ours, stock)
    with OpNames() as ops:
        assert_same(masked_only_loss_and_grads(model, batch, tied_gradient=False), stock)
    assert ops.word_embedding_backward()  # the detection above is meaningful
    again = masked_only_loss_and_grads(model, batch)
    for name in ours[1]:
        assert torch.equal(again[1][name], ours[1][name]), name  # deterministic, bit for bit


def test_gradients_accumulate_over_micro_batches():
    model = tiny_model()
    first, second = padded_batch(model, seed=1), padded_batch(model, seed=2)
    total = int((first["labels"] != -100).sum() + (second["labels"] != -100).sum())
    stock = {}
    for masked_only in (False, True):
        model.zero_grad(set_to_none=True)
        for batch in (first, second):
            if masked_only:
                enable_masked_only_head(model)
                model(**batch, num_items_in_batch=total).loss.backward()
            else:
                disable_masked_only_head(model)
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                mlm_loss(logits.view(-1, VOCAB), batch["labels"].view(-1), total).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        if not masked_only:
            stock = grads
    for name in stock:
        torch.testing.assert_close(grads[name], stock[name], rtol=1e-4, atol=1e-6, msg=name)


def test_untied_or_frozen_embeddings_keep_autograd_path():
    untied = tiny_model(tied=False)
    assert untied.get_output_embeddings().weight is not untied.get_input_embeddings().weight
    batch = padded_batch(untied)
    stock = stock_loss_and_grads(untied, batch)
    with OpNames() as ops:
        assert_same(masked_only_loss_and_grads(untied, batch), stock)
    assert ops.word_embedding_backward()

    frozen = tiny_model()
    frozen.get_input_embeddings().weight.requires_grad_(False)
    stock = stock_loss_and_grads(frozen, batch)
    ours = masked_only_loss_and_grads(frozen, batch)
    assert not any("word_embeddings" in name or "decoder.weight" in name for name in ours[1])
    assert_same(ours, stock)
