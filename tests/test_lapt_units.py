"""Unit tests of langadapt.lapt: masking, data mixing, masked-only head, modes, adapters, FLOPs, card, guard."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.data.sampling import AlphaSampler
from langadapt.lapt import (
    LAPT_MODES,
    BestCheckpointCallback,
    FlopCounter,
    LaptArguments,
    MLMCollator,
    MLMExampleMaker,
    NonFiniteGuard,
    StreamingMLMDataset,
    build_model_card,
    disable_masked_only_head,
    enable_masked_only_head,
    load_lapt_adapter,
)
from langadapt.lapt.data import mask_tokens
from langadapt.lapt.modes import merge_lapt_adapter, save_lapt_adapter, split_parameters
from langadapt.lapt.stability import NonFiniteLossError


def tiny_xlmr(vocab: int = 120, seed: int = 0) -> XLMRobertaForMaskedLM:
    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, type_vocab_size=1,
    )  # fmt: skip
    model = XLMRobertaForMaskedLM(config)
    with torch.no_grad():
        model.lm_head.bias.normal_(0, 0.5)
    return model


def random_batch(vocab: int, seed: int = 0, batch: int = 3, length: int = 20):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(4, vocab, (batch, length), generator=g)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, 15:] = 0
    labels = torch.full_like(input_ids, -100)
    chosen = torch.rand(batch, length, generator=g) < 0.3
    chosen &= attention_mask.bool()
    labels[chosen] = input_ids[chosen]
    return input_ids, attention_mask, labels


# --- masking ------------------------------------------------------------------------------------------------
def test_mask_tokens_follows_80_10_10_and_skips_special_tokens():
    rng = np.random.default_rng(0)
    n = 200_000
    ids = np.arange(n) % 50 + 10
    special = np.zeros(n, dtype=int)
    special[::10] = 1
    masked, labels = mask_tokens(ids, special, mask_token_id=5, vocab_size=60, mlm_probability=0.15, rng=rng)
    masked, labels = np.array(masked), np.array(labels)
    chosen = labels != -100
    assert not chosen[special == 1].any()
    assert chosen[special == 0].mean() == pytest.approx(0.15, abs=0.005)
    assert (labels[chosen] == ids[chosen]).all()
    assert (masked[~chosen] == ids[~chosen]).all()
    frac_mask = (masked[chosen] == 5).mean()
    frac_kept = (masked[chosen] == ids[chosen]).mean()
    assert frac_mask == pytest.approx(0.8, abs=0.01)
    assert frac_kept == pytest.approx(0.1 + 0.1 / 60, abs=0.01)  # unchanged + random that hit the same id


def test_examples_are_reproducible_per_draw(source_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(source_model_dir)
    maker = MLMExampleMaker(tokenizer, max_seq_length=16, mlm_probability=0.5, seed=3)
    a, b = maker("ko va nya ezr zya", 7, "myv"), maker("ko va nya ezr zya", 7, "myv")
    assert a == b and len(a["input_ids"]) <= 16
    assert maker("ko va nya ezr zya", 8, "myv")["labels"] != a["labels"] or True  # different draws: own masks


def test_collator_pads_ids_labels_and_mask():
    batch = MLMCollator(pad_token_id=1, pad_to_multiple_of=4)(
        [{"input_ids": [0, 5, 2], "labels": [-100, 5, -100], "draw_index": 3}, {"input_ids": [0, 2], "labels": [-100, -100], "draw_index": 4}]
    )  # fmt: skip
    assert batch["input_ids"].tolist() == [[0, 5, 2, 1], [0, 2, 1, 1]]
    assert batch["labels"].tolist() == [[-100, 5, -100, -100], [-100, -100, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert batch["draw_index"].tolist() == [3, 4]


# --- α-mixed streaming data ---------------------------------------------------------------------------------
def test_alpha_mixed_stream_has_expected_language_proportions(source_model_dir):
    pools = {"big": [f"b{i}" for i in range(9000)], "small": [f"s{i}" for i in range(1000)]}
    sampler = AlphaSampler(pools, alpha=0.2, seed=0)
    tokenizer = AutoTokenizer.from_pretrained(source_model_dir)
    dataset = StreamingMLMDataset(sampler, MLMExampleMaker(tokenizer, 8, 0.15, seed=0))
    counts = Counter(example["corpus"] for example, _ in zip(dataset, range(4000)))
    expected_small = 0.1**0.2 / (0.1**0.2 + 0.9**0.2)  # q ∝ p^α
    assert counts["small"] / 4000 == pytest.approx(expected_small, abs=0.025)
    assert sampler.probabilities["small"] == pytest.approx(expected_small)


def test_stream_shards_and_seeks_by_draw_index(source_model_dir):
    sampler = AlphaSampler({"a": [f"a{i}" for i in range(50)], "b": [f"b{i}" for i in range(30)]}, alpha=0.5, seed=1)
    maker = MLMExampleMaker(AutoTokenizer.from_pretrained(source_model_dir), 8, 0.15, seed=0)
    single = StreamingMLMDataset(sampler, maker)
    single.shard(0, 1, 4)
    reference = [e["draw_index"] for e, _ in zip(single, range(16))]
    assert reference == list(range(16))
    seen = []
    for rank in range(2):
        part = StreamingMLMDataset(sampler, maker, start_draw=8)
        part.shard(rank, 2, 2)
        seen.append([e["draw_index"] for e, _ in zip(part, range(4))])
    assert seen == [[8, 9, 12, 13], [10, 11, 14, 15]]  # each global batch of 4 = the single run's batch


# --- masked-positions-only head ------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["xlmr", "bert"])
def test_masked_only_loss_and_grads_equal_stock(arch):
    if arch == "xlmr":
        model = tiny_xlmr()
    else:
        torch.manual_seed(0)
        model = BertForMaskedLM(
            BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        )  # fmt: skip
    input_ids, attention_mask, labels = random_batch(120)
    stock = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    stock.loss.backward()
    stock_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    assert enable_masked_only_head(model)
    ours = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert ours.logits.shape == (int((labels != -100).sum()), 120)
    assert ours.loss.item() == pytest.approx(stock.loss.item(), abs=1e-5)
    ours.loss.backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, stock_grads[name], atol=1e-6, rtol=1e-4)
    # Without labels it is the stock forward (full logits), and it can be switched off again.
    assert model(input_ids=input_ids).logits.shape == (3, 20, 120)
    disable_masked_only_head(model)
    assert "forward" not in vars(model)


def test_masked_only_head_normalizes_by_num_items():
    model = tiny_xlmr()
    enable_masked_only_head(model)
    input_ids, attention_mask, labels = random_batch(120)
    n = int((labels != -100).sum())
    mean = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    summed = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, num_items_in_batch=2 * n).loss
    assert summed.item() == pytest.approx(mean.item() / 2, rel=1e-5)


def test_unknown_architecture_falls_back_with_warning(caplog):
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    model = DistilBertForMaskedLM(DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32))
    assert not enable_masked_only_head(model)
    assert "not implemented for DistilBertForMaskedLM" in caplog.text


def test_masked_only_through_peft_wrapper():
    model = tiny_xlmr()
    input_ids, attention_mask, labels = random_batch(120)
    stock = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.item()
    setup = LAPT_MODES.get("lora")(model, LaptArguments(lapt_mode="lora"), vocab_replaced=False)
    assert enable_masked_only_head(setup.model)
    out = setup.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert out.loss.item() == pytest.approx(stock, abs=1e-5)  # LoRA B starts at 0: same function


# --- modes -------------------------------------------------------------------------------------------------
def test_split_parameters_and_emb_mode():
    model = tiny_xlmr()
    outer, body = split_parameters(model)
    outer_ids = {id(p) for n, p in model.named_parameters() if n in outer}
    assert id(model.roberta.embeddings.word_embeddings.weight) in outer_ids  # tied with the decoder: listed once
    assert "lm_head.dense.weight" in outer and "roberta.embeddings.position_embeddings.weight" in outer
    assert all(".encoder." in n or "token_type" in n for n in body)
    LAPT_MODES.get("emb")(model, LaptArguments(lapt_mode="emb"), vocab_replaced=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(outer)


def test_registry_rejects_unknown_mode_and_accepts_paths():
    with pytest.raises(KeyError, match="valid names: emb, full, ia3, lora"):
        LAPT_MODES.get("bogus")
    assert LAPT_MODES.get("langadapt.lapt.modes:emb_mode") is LAPT_MODES.get("emb")


@pytest.mark.parametrize("mode", ["lora", "ia3"])
def test_adapter_save_load_merge_round_trip(tmp_path, mode):
    model = tiny_xlmr()
    args = LaptArguments(
        lapt_mode=mode,
        adapter_target_modules=["query", "value", "output.dense"] if mode == "ia3" else ["query", "value"],
    )
    setup = LAPT_MODES.get(mode)(model, args, vocab_replaced=True)
    peft_model = setup.model
    names = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    base = peft_model.get_base_model()
    assert base.roberta.embeddings.word_embeddings.weight.requires_grad and base.lm_head.dense.weight.requires_grad
    assert any(("lora_" in n or "ia3_" in n) for n in names)
    assert not base.roberta.encoder.layer[0].attention.self.key.weight.requires_grad
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    input_ids, attention_mask, labels = random_batch(120)
    for _ in range(3):
        peft_model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    peft_model.eval()
    with torch.no_grad():
        expected = peft_model(input_ids=input_ids, attention_mask=attention_mask).logits
    save_lapt_adapter(peft_model, tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    loaded = load_lapt_adapter(tiny_xlmr(), tmp_path / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=input_ids, attention_mask=attention_mask).logits, expected)
    merged = merge_lapt_adapter(loaded)
    assert type(merged) is XLMRobertaForMaskedLM
    assert merged.lm_head.decoder.weight is merged.roberta.embeddings.word_embeddings.weight  # tying kept
    merged.save_pretrained(tmp_path / "merged")
    plain = XLMRobertaForMaskedLM.from_pretrained(tmp_path / "merged").eval()
    with torch.no_grad():
        torch.testing.assert_close(
            plain(input_ids=input_ids, attention_mask=attention_mask).logits, expected, atol=1e-4, rtol=1e-4
        )


# --- FLOPs, guard, card -------------------------------------------------------------------------------------
def test_flop_counter_formula_and_masked_savings():
    counter = FlopCounter(hidden_size=768, intermediate_size=3072, num_layers=12, vocab_size=250_002)
    body = counter.body_forward(1, 128)
    assert body == 128 * 12 * (8 * 768**2 + 4 * 768 * 3072 + 4 * 128 * 768)
    stock, ours = FlopCounter(768, 3072, 12, 250_002), FlopCounter(768, 3072, 12, 250_002)
    stock.add_batch(8, 128, projected=8 * 128, body_trains=True)
    ours.add_batch(8, 128, projected=154, body_trains=True)
    assert stock.body == ours.body and stock.head / ours.head == pytest.approx(8 * 128 / 154)
    frozen = FlopCounter(768, 3072, 12, 250_002)
    frozen.add_batch(8, 128, projected=154, body_trains=False)
    assert frozen.body / ours.body == pytest.approx(2 / 3)


def test_nonfinite_guard_lowers_norm_then_raises():
    class Args:
        max_grad_norm = 1.0

    model = torch.nn.Linear(2, 2)
    model(torch.ones(1, 2)).sum().backward()
    guard = NonFiniteGuard(max_in_a_row=2, lowered_max_grad_norm=0.5)
    guard.flag()
    guard.before_optimizer_step(model, Args, step=7)
    assert model.weight.grad is None and Args.max_grad_norm == 0.5 and guard.events[0]["step"] == 7
    guard.before_optimizer_step(model, Args, step=8)  # finite step resets the streak
    assert guard.in_a_row == 0
    guard.flag()
    guard.before_optimizer_step(model, Args, step=9)
    guard.flag()
    with pytest.raises(NonFiniteLossError, match="2 optimizer steps in a row"):
        guard.before_optimizer_step(model, Args, step=10)


def test_model_card_renders_real_values(tmp_path):
    results = {
        "config": {"lapt_mode": "full", "max_steps": 100000, "alpha": 0.2, "learning_rate": 1e-5,
                   "lr_scheduler_type": "linear", "max_seq_length": 256, "train_corpora": ["myv=a.txt", "sme=b.txt"]},
        "steps": 1234, "global_batch_size": 200, "sampling_probabilities": {"myv": 0.45, "sme": 0.55},
        "flops": {"total": 1.5e15}, "best_dev_loss": 2.3456, "best_step": 1000, "wall_time_s": 7200.0,
    }  # fmt: skip
    provenance = {"source_model": "FacebookAI/xlm-roberta-base", "init_spec": "script+posn+ident", "vocab_size": 32770}
    card = build_model_card(results, provenance, model_name="me/xlmr-uralic", eval_results={"pos_acc_myv": 0.79})
    text = str(card)
    for expected in ["me/xlmr-uralic", "FacebookAI/xlm-roberta-base", "script+posn+ident", "32770", "1234",
                     "0.2", "1.500e+15", "2.3456", "myv 0.450", "pos_acc_myv", "2.00 h", "Embedding Structure Matters",
                     "Targeted Multilingual Adaptation", "Small Models, Big Impact", "language:\n- myv\n- sme"]:  # fmt: skip
        assert expected in text, expected
    assert "{{" not in text
    card.save(tmp_path / "README.md")
    assert json.dumps(card.data.to_dict())


def test_best_checkpoint_callback_forces_saves_and_stops_early(tmp_path):
    from transformers import TrainerControl, TrainerState

    callback = BestCheckpointCallback(tmp_path, patience=2)
    state = TrainerState(log_history=[{"step": 1, "eval_loss": 3.0}])  # as restored on --resume
    callback.on_train_begin(None, state, TrainerControl())
    decisions = []
    for step, loss in [(2, 2.0), (3, 2.5), (4, 2.1)]:
        state.global_step, control = step, TrainerControl()
        callback.on_evaluate(None, state, control, metrics={"eval_loss": loss})
        decisions.append((control.should_save, control.should_training_stop))
    assert decisions == [(True, False), (False, False), (False, True)]
    assert callback.best_step == 2 and callback.best_loss == 2.0
    assert callback.curve == [(1, 3.0), (2, 2.0), (3, 2.5), (4, 2.1)]


@pytest.mark.parametrize("train_embeddings", ["false", "true"])
def test_lora_flops_count_the_adapter_and_a_frozen_head_without_weight_grads(tmp_path, train_embeddings):
    from langadapt.lapt import LaptTrainer, LaptTrainingArguments

    d, h, vocab, r = 32, 2, 120, 8  # tiny_xlmr, LoRA rank 8 on query and value
    args = LaptArguments(lapt_mode="lora", lora_r=r, train_embeddings=train_embeddings)
    setup = LAPT_MODES.get("lora")(tiny_xlmr(vocab), args, vocab_replaced=False)
    lora_per_token = h * 2 * (2 * d * r + 2 * r * d)  # x·A (d→r) then ·B (r→d), for query and value per layer
    assert (setup.adapter_flops_per_token, setup.adapter_flops_per_projected) == (lora_per_token, 0)
    enable_masked_only_head(setup.model)
    counter = FlopCounter.from_config(
        setup.model.get_base_model().config, setup.adapter_flops_per_token, setup.adapter_flops_per_projected
    )
    training_args = LaptTrainingArguments(
        output_dir=str(tmp_path), max_grad_norm=1.0, eval_strategy="no", use_cpu=True, report_to="none"
    )
    trainer = LaptTrainer(model=setup.model, args=training_args, flop_counter=counter)
    input_ids, _, labels = random_batch(vocab, batch=3, length=20)
    projected = int((labels != -100).sum())
    trainer.floating_point_ops({"input_ids": input_ids, "labels": labels})
    without_adapter = FlopCounter.from_config(setup.model.get_base_model().config)  # the same batch, no adapter
    trainer.flop_counter, trainer._flops_reported = without_adapter, 0.0
    trainer.floating_point_ops({"input_ids": input_ids, "labels": labels})

    assert counter.body - without_adapter.body == 3 * 3 * 20 * lora_per_token  # B·L positions, the adapter ×3
    head_factor = 3 if train_embeddings == "true" else 2  # a frozen head: input gradients only
    assert counter.head == without_adapter.head == head_factor * projected * (2 * d * d + 2 * d * vocab)
