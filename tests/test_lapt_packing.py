"""Packed MLM batches give the unpacked computation: same loss and gradients, no attention across lines."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.data.sampling import AlphaSampler
from langadapt.lapt.data import IGNORE_INDEX, MLMCollator, MLMExampleMaker, StreamingMLMDataset
from langadapt.lapt.packing import (
    PackedMLMCollator,
    attach_attention_mask,
    block_diagonal_attention_mask,
    pack_lines,
    position_offset,
    real_token_count,
)

from .lapt_helpers import parse_lapt, tiny_lapt_argv, weights

VOCAB = 60


def tiny_model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    common = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, type_vocab_size=1,
    )  # fmt: skip
    if kind == "xlmr":
        return XLMRobertaForMaskedLM(XLMRobertaConfig(max_position_embeddings=40, pad_token_id=1, **common))
    return BertForMaskedLM(BertConfig(max_position_embeddings=40, pad_token_id=0, **common))


def make_examples(kind: str, lengths: list[int], seed: int = 0) -> list[dict]:
    """Lines framed by the model's special tokens, ~30% of the inner positions labelled."""
    g = torch.Generator().manual_seed(seed)
    bos, eos = (0, 2) if kind == "xlmr" else (3, 4)
    examples = []
    for draw, n in enumerate(lengths):
        inner = torch.randint(5, VOCAB, (n - 2,), generator=g)
        ids = [bos, *inner.tolist(), eos]
        chosen = torch.rand(n, generator=g) < 0.3
        chosen[0] = chosen[-1] = False
        chosen[1] = True  # every line has a target
        labels = [t if c else IGNORE_INDEX for t, c in zip(ids, chosen.tolist())]
        examples.append({"input_ids": ids, "labels": labels, "draw_index": draw})
    return examples


def loss_and_grads(model, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad()
    batch = attach_attention_mask({k: v for k, v in batch.items() if k != "draw_index"}, torch.float32)
    loss = model(**batch).loss
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_pack_lines_first_fit_decreasing():
    rows = pack_lines([5, 9, 3, 7, 2], row_length=10)
    assert rows == [[1], [2, 3], [0, 4]]  # 9 | 7+3 | 5+2, each row in input order
    assert sorted(i for row in rows for i in row) == list(range(5))
    with pytest.raises(ValueError, match="a line of 11 tokens does not fit in a row of 10"):
        pack_lines([11], row_length=10)


def test_collator_layout_positions_and_segments():
    examples = make_examples("xlmr", [4, 3, 6])
    batch = PackedMLMCollator(pad_token_id=1, row_length=8, first_position=2, pad_to_multiple_of=None)(examples)
    # first-fit decreasing: 6 opens row 0, 4 does not fit beside it and opens row 1, 3 joins it
    assert batch["input_ids"].shape == (2, 7)
    assert batch["segment_ids"].tolist() == [[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 2, 2, 2]]
    assert batch["position_ids"][1].tolist() == [2, 3, 4, 5, 2, 3, 4]
    assert batch["input_ids"][1].tolist() == examples[0]["input_ids"] + examples[1]["input_ids"]
    assert batch["input_ids"][0, 6:].tolist() == [1]
    assert batch["labels"][0, 6:].tolist() == [IGNORE_INDEX]
    assert batch["draw_index"].tolist() == [0, 1, 2]
    assert real_token_count(batch) == 13


def test_block_diagonal_mask_values():
    mask = block_diagonal_attention_mask(torch.tensor([[1, 1, 2, 0]]), torch.float32)
    allowed = (mask[0, 0] == 0).int().tolist()
    assert allowed == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    assert mask.shape == (1, 1, 4, 4) and mask.min() == torch.finfo(torch.float32).min


@pytest.mark.parametrize("kind", ["xlmr", "bert"])
def test_packed_loss_and_gradients_equal_unpacked(kind):
    model = tiny_model(kind).eval()  # eval: no dropout, so both layouts compute the same function
    examples = make_examples(kind, [12, 5, 9, 3, 14, 7])
    pad = model.config.pad_token_id
    unpacked = MLMCollator(pad_token_id=pad)(examples)
    packed = PackedMLMCollator(pad, row_length=20, first_position=position_offset(model.config))(examples)
    assert packed["input_ids"].numel() < unpacked["input_ids"].numel()
    loss_u, grads_u = loss_and_grads(model, unpacked)
    loss_p, grads_p = loss_and_grads(model, packed)
    torch.testing.assert_close(loss_p, loss_u, rtol=1e-5, atol=1e-6)
    assert grads_u.keys() == grads_p.keys()
    for name in grads_u:
        torch.testing.assert_close(grads_p[name], grads_u[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("kind", ["xlmr", "bert"])
def test_changing_one_line_leaves_the_others_logits_unchanged(kind):
    model = tiny_model(kind).eval()
    examples = make_examples(kind, [6, 6, 6])
    collate = PackedMLMCollator(model.config.pad_token_id, row_length=18, first_position=position_offset(model.config))
    batch = collate(examples)
    assert batch["input_ids"].shape[0] == 1  # all three lines share one row
    changed = [dict(e) for e in examples]
    changed[1]["input_ids"] = [changed[1]["input_ids"][0], 7, 8, 9, 10, changed[1]["input_ids"][-1]]
    batch_changed = collate(changed)

    def logits(b):
        b = attach_attention_mask({k: v for k, v in b.items() if k not in ("draw_index", "labels")}, torch.float32)
        with torch.no_grad():
            return model(**b).logits[0]

    before, after = logits(batch), logits(batch_changed)
    segments = batch["segment_ids"][0]
    torch.testing.assert_close(after[segments != 2], before[segments != 2], rtol=0, atol=1e-6)
    assert not torch.allclose(after[segments == 2], before[segments == 2])


# --- the data path: batched tokenization gives the per-line examples -------------------------------------------
@pytest.mark.parametrize("truncation_side", ["right", "left"])
def test_batched_examples_equal_per_line_examples(source_model_dir, truncation_side):
    # one tokenizer call per micro-batch must truncate (on either side) as the per-line call does
    tokenizer = AutoTokenizer.from_pretrained(source_model_dir, truncation_side=truncation_side)
    maker = MLMExampleMaker(tokenizer, max_seq_length=12, mlm_probability=0.4, seed=5)
    lines = ["ko va nya ezr zya", "a", "mon vechkan tonь " * 5, "sámi giella lea", ""]
    draws = [10, 11, 12, 13, 14]
    batched = maker.make_batch(lines, draws, ["x"] * 5)
    assert batched == [maker(line, d, "x") for line, d in zip(lines, draws)]
    assert len(batched[2]["input_ids"]) == 12 and len(batched[1]["input_ids"]) < 12
    # the maker does not leave the user's tokenizer truncating at 12
    assert len(tokenizer("mon vechkan tonь " * 5)["input_ids"]) > 12


def test_stream_is_the_same_whatever_the_encoding_batch(source_model_dir):
    sampler = AlphaSampler({"a": [f"a{i} b c" for i in range(50)], "b": [f"b{i} d" for i in range(30)]}, 0.5, seed=1)
    maker = MLMExampleMaker(AutoTokenizer.from_pretrained(source_model_dir), 8, 0.3, seed=0)
    streams = []
    for encode_batch_size in (1, 3, None):
        dataset = StreamingMLMDataset(sampler, maker, start_draw=5, encode_batch_size=encode_batch_size)
        dataset.shard(1, 2, 4)
        streams.append([example for example, _ in zip(dataset, range(12))])
    assert streams[0] == streams[1] == streams[2]
    assert [e["draw_index"] for e in streams[0][:8]] == [9, 10, 11, 12, 17, 18, 19, 20]


# --- LAPT end to end: packed and padded runs train the same model ---------------------------------------------
def test_packed_lapt_run_matches_the_padded_run(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    runs = {}
    for packing in (True, False):
        out = tmp_path / f"packing_{packing}"
        argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, max_steps=4, packing=packing)
        results = lapt.main(*parse_lapt(argv))
        runs[packing] = (results, weights(out / "checkpoint-4"))
    (packed, packed_weights), (padded, padded_weights) = runs[True], runs[False]
    assert packed["config"]["packing"] is True and padded["config"]["packing"] is False
    assert packed["flops"]["this_session"]["tokens"] < padded["flops"]["this_session"]["tokens"]  # fewer positions
    for a, b in zip(packed["dev_loss_curve"], padded["dev_loss_curve"]):
        assert a["step"] == b["step"] and a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    for name in padded_weights:
        torch.testing.assert_close(packed_weights[name], padded_weights[name], atol=1e-5, rtol=1e-4, msg=name)
