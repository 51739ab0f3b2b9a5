"""Vocabulary replacement on tiny models: rows, output bias, special tokens, tying, heads, errors."""

import copy

import pytest
import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertModel,
    PreTrainedTokenizerFast,
    XLMRobertaModel,
)

from langadapt.layout import PROVENANCE_FILE
from langadapt.vocab import InitOptions, load_source_model, replace_vocabulary, save_replaced_model
from langadapt.vocab.special import MissingSpecialTokenError
from langadapt.vocab.surgery import SourceModelError

SPEC_METHODS = ["script+posn+ident", "script+ident", "random", "mean", "mean+ident"]


@pytest.fixture(scope="module")
def source(source_model_dir):
    model, tokenizer, had_head = load_source_model(str(source_model_dir))
    assert had_head
    return model, tokenizer


@pytest.fixture(scope="module")
def target_tokenizer(target_tokenizer_dir):
    return AutoTokenizer.from_pretrained(target_tokenizer_dir)


@pytest.fixture(scope="module")
def replaced(source, target_tokenizer):
    """spec → (new model, provenance) for the heuristic specs."""
    model, tokenizer = source
    return {
        spec: replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions(init_spec=spec))
        for spec in SPEC_METHODS
    }


def _rows_by_method(provenance, method):
    return [t for t in provenance["tokens"] if t["method"] == method]


def _source_tensors(model):
    return model.get_input_embeddings().weight.detach(), model.lm_head.bias.detach()


@pytest.mark.parametrize("spec", SPEC_METHODS)
def test_shapes_config_and_tokenizer_agree(replaced, target_tokenizer, spec):
    model, provenance = replaced[spec]
    size = len(target_tokenizer)
    assert model.get_input_embeddings().weight.shape == (size, 32)
    assert model.lm_head.bias.shape == (size,) and model.lm_head.decoder.bias.shape == (size,)
    assert model.config.vocab_size == size == provenance["vocab_size"]
    assert model.config.pad_token_id == target_tokenizer.pad_token_id
    assert model.config.bos_token_id == target_tokenizer.bos_token_id
    assert model.config.eos_token_id == target_tokenizer.eos_token_id
    assert all(t["method"] is not None for t in provenance["tokens"])
    assert provenance["init_spec"] == spec and provenance["seed"] == 42
    assert sum(provenance["summary"]["counts_per_method"].values()) == size


def test_ident_rows_and_bias_equal_source(source, replaced, target_tokenizer):
    source_model, source_tokenizer = source
    embeddings, bias = _source_tensors(source_model)
    model, provenance = replaced["script+posn+ident"]
    ident = _rows_by_method(provenance, "ident")
    assert len(ident) > 50
    new_ids = torch.tensor([t["id"] for t in ident])
    source_ids = torch.tensor([source_tokenizer.convert_tokens_to_ids(t["token"]) for t in ident])
    assert source_ids.tolist() == [t["source_id"] for t in ident]
    assert torch.equal(model.get_input_embeddings().weight[new_ids], embeddings[source_ids])
    assert torch.equal(model.lm_head.bias[new_ids], bias[source_ids])


def test_special_tokens_by_role(source, replaced, target_tokenizer):
    source_model, source_tokenizer = source
    embeddings, bias = _source_tensors(source_model)
    for spec in SPEC_METHODS:
        model, provenance = replaced[spec]
        for attribute in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "mask_token_id"):
            new_id, old_id = getattr(target_tokenizer, attribute), getattr(source_tokenizer, attribute)
            assert provenance["tokens"][new_id]["method"] == "special"
            assert torch.equal(model.get_input_embeddings().weight[new_id], embeddings[old_id])
            assert model.lm_head.bias[new_id] == bias[old_id]
    # the source's mask is its last id, the target's too: the roles differ in id, not in row
    assert source_tokenizer.mask_token_id != target_tokenizer.mask_token_id


def test_precedence_special_then_ident_then_script(replaced, target_tokenizer):
    _, provenance = replaced["script+posn+ident"]
    counts = provenance["summary"]["counts_per_method"]
    assert set(counts) == {"special", "ident", "script+posn"}
    # every token whose string the source has is IDENT (unless special); the rest is SCRIPT+POSN
    source_vocab_tokens = {t["token"] for t in _rows_by_method(provenance, "ident")}
    for token in _rows_by_method(provenance, "script+posn"):
        assert token["token"] not in source_vocab_tokens
        assert token["group"] in (
            f"script+posn:{token['script']}/{token['position']}",
            f"script:{token['script']}",
            "source",
        )
    assert provenance["methods_in_precedence_order"] == ["special", "ident", "script+posn", "random"]
    _, mean_provenance = replaced["mean+ident"]
    assert mean_provenance["summary"]["counts_per_method"]["ident"] == counts["ident"]


def test_script_position_rows_follow_their_group(source, target_tokenizer):
    """Plant distinct distributions per source group; the new rows' sample statistics must match them."""
    source_model, source_tokenizer = source
    model = copy.deepcopy(source_model)
    tokens = source_tokenizer.convert_ids_to_tokens(list(range(len(source_tokenizer))))
    generator = torch.Generator().manual_seed(1)
    planted = {("Cyrillic", True): (2.0, 0.1), ("Cyrillic", False): (-2.0, 0.3), ("Latin", True): (5.0, 0.5)}
    from langadapt.vocab.categories import token_script

    with torch.no_grad():
        weight = model.get_input_embeddings().weight
        for index, token in enumerate(tokens):
            key = (token_script(token), token.startswith("▁"))
            if key in planted and index not in source_tokenizer.all_special_ids:
                mean, std = planted[key]
                weight[index] = torch.randn(weight.shape[1], generator=generator) * std + mean
    new_model, provenance = replace_vocabulary(model, source_tokenizer, target_tokenizer, InitOptions("script+posn"))
    new_weight = new_model.get_input_embeddings().weight.detach()
    checked = 0
    for (script, initial), (mean, std) in planted.items():
        group = f"script+posn:{script}/{'initial' if initial else 'internal'}"
        ids = [t["id"] for t in provenance["tokens"] if t.get("group") == group]
        if len(ids) < 20:
            continue
        rows = new_weight[ids]
        assert rows.mean().item() == pytest.approx(mean, abs=0.15 * std + 0.02)
        assert rows.std(0).mean().item() == pytest.approx(std, rel=0.25)
        checked += 1
    assert checked >= 2


def test_bias_uses_the_same_method_as_rows(source, replaced):
    source_model, _ = source
    embeddings, bias = _source_tensors(source_model)
    model, provenance = replaced["mean"]
    for token in _rows_by_method(provenance, "mean")[:50]:
        ids = torch.tensor(token["source_ids"])
        assert torch.allclose(model.get_input_embeddings().weight[token["id"]], embeddings[ids].mean(0), atol=1e-6)
        assert model.lm_head.bias[token["id"]].item() == pytest.approx(bias[ids].mean().item(), abs=1e-6)
    model, provenance = replaced["script+posn+ident"]
    from langadapt.vocab.categories import token_script

    tokens = _tokens(source)
    special = set(source[1].all_special_ids)
    for token in _rows_by_method(provenance, "script+posn")[:20]:
        if token["group"].startswith("script+posn:"):
            script, position = token["group"].split(":")[1].split("/")
            members = [
                i
                for i, text in enumerate(tokens)
                if i not in special
                and token_script(text) == script
                and text.startswith("▁") == (position == "initial")
            ]
            assert model.lm_head.bias[token["id"]].item() == pytest.approx(bias[members].mean().item(), abs=1e-5)
    model, provenance = replaced["random"]
    random_ids = [t["id"] for t in _rows_by_method(provenance, "random")]
    assert torch.allclose(model.lm_head.bias[random_ids], torch.full((len(random_ids),), bias.mean().item()))
    # not the truncation bug: new id i does not keep old id i's bias
    assert not torch.allclose(model.lm_head.bias[10:50], bias[10:50])


def _tokens(source):
    _, tokenizer = source
    return tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))


def test_random_distribution_options(source, target_tokenizer):
    model, tokenizer = source
    new, _ = replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions("random", random_bias="zero"))
    rows = new.get_input_embeddings().weight[10:].detach()
    assert rows.std().item() == pytest.approx(model.config.initializer_range, rel=0.1)
    assert torch.all(new.lm_head.bias[10:-1] == 0)
    unit, _ = replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions("random", random_distribution="unit"))
    assert unit.get_input_embeddings().weight[10:].std().item() == pytest.approx(1.0, rel=0.1)


def test_tied_after_save_and_load(replaced, target_tokenizer, tmp_path):
    model, provenance = replaced["script+posn+ident"]
    out = save_replaced_model(tmp_path / "new", model, target_tokenizer, provenance)
    loaded = AutoModelForMaskedLM.from_pretrained(out)
    assert loaded.lm_head.decoder.weight.data_ptr() == loaded.roberta.embeddings.word_embeddings.weight.data_ptr()
    assert torch.equal(loaded.lm_head.bias, model.lm_head.bias)
    assert torch.equal(loaded.get_input_embeddings().weight, model.get_input_embeddings().weight)
    assert len(AutoTokenizer.from_pretrained(out)) == loaded.config.vocab_size
    assert (out / PROVENANCE_FILE).is_file()
    with pytest.raises(FileExistsError, match="--overwrite"):
        save_replaced_model(out, model, target_tokenizer, provenance)


def test_finite_mlm_loss_and_a_training_step(replaced, target_tokenizer, tiny_corpus_dir):
    model, _ = replaced["script+posn+ident"]
    model = copy.deepcopy(model).train()
    lines = (tiny_corpus_dir / "myv.txt").read_text(encoding="utf-8").splitlines()[:8]
    batch = target_tokenizer(lines, return_tensors="pt", padding=True, truncation=True, max_length=64)
    labels = batch["input_ids"].clone()
    generator = torch.Generator().manual_seed(0)
    mask = (torch.rand(labels.shape, generator=generator) < 0.15) & batch["attention_mask"].bool()
    mask[:, 1] = True
    labels[~mask] = -100
    batch["input_ids"][mask] = target_tokenizer.mask_token_id
    output = model(**batch, labels=labels)
    assert torch.isfinite(output.loss)
    output.loss.backward()
    assert torch.isfinite(model.get_input_embeddings().weight.grad).all()


def test_deterministic_under_seed(source, target_tokenizer):
    model, tokenizer = source
    first, _ = replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions("script+posn", seed=3))
    again, _ = replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions("script+posn", seed=3))
    other, _ = replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions("script+posn", seed=4))
    assert torch.equal(first.get_input_embeddings().weight, again.get_input_embeddings().weight)
    assert not torch.equal(first.get_input_embeddings().weight, other.get_input_embeddings().weight)


def test_untied_decoder_is_mapped_like_the_rows(source, target_tokenizer):
    model, tokenizer = source
    config = copy.deepcopy(model.config)
    config.tie_word_embeddings = False
    untied = type(model)(config)
    untied.load_state_dict(model.state_dict())
    with torch.no_grad():
        untied.lm_head.decoder.weight.normal_(0, 1.0)
    assert untied.lm_head.decoder.weight.data_ptr() != untied.get_input_embeddings().weight.data_ptr()
    new, provenance = replace_vocabulary(untied, tokenizer, target_tokenizer, InitOptions("script+posn+ident"))
    ident = _rows_by_method(provenance, "ident")
    new_ids = [t["id"] for t in ident]
    source_ids = [t["source_id"] for t in ident]
    assert torch.equal(new.lm_head.decoder.weight[new_ids], untied.lm_head.decoder.weight[source_ids])
    assert not new.config.tie_word_embeddings
    assert new.lm_head.decoder.weight.data_ptr() != new.get_input_embeddings().weight.data_ptr()
    sampled = [t["id"] for t in _rows_by_method(provenance, "script+posn")]
    assert new.lm_head.decoder.weight[sampled].std().item() > 0.5  # drawn from the decoder's own statistics


@pytest.mark.parametrize("headless_class", [XLMRobertaModel, BertModel])
def test_headless_source_gets_a_fresh_tied_head(source, target_tokenizer, headless_class, tmp_path):
    model, tokenizer = source
    config_class = model.config.__class__ if headless_class is XLMRobertaModel else BertConfig
    config = config_class(
        **{
            k: v
            for k, v in model.config.to_dict().items()
            if k
            in (
                "vocab_size",
                "hidden_size",
                "num_hidden_layers",
                "num_attention_heads",
                "intermediate_size",
                "max_position_embeddings",
                "pad_token_id",
                "type_vocab_size",
            )
        }
    )
    torch.manual_seed(0)
    encoder = headless_class(config)  # e5-like: an encoder with a pooler and no MLM head
    new, provenance = replace_vocabulary(encoder, tokenizer, target_tokenizer, InitOptions("script+posn+ident"))
    assert type(new).__name__ == headless_class.__name__.replace("Model", "ForMaskedLM")
    assert provenance["source_had_mlm_head"] is False
    assert new.get_output_embeddings().weight.data_ptr() == new.get_input_embeddings().weight.data_ptr()
    assert torch.all(new.get_output_embeddings().bias == 0)
    layer = new.base_model.encoder.layer[0].attention.self.query.weight
    assert torch.equal(layer, encoder.encoder.layer[0].attention.self.query.weight)
    out = save_replaced_model(tmp_path / "headless", new, target_tokenizer, provenance)
    reloaded = AutoModelForMaskedLM.from_pretrained(out)
    assert reloaded.get_output_embeddings().weight.data_ptr() == reloaded.get_input_embeddings().weight.data_ptr()


def _wordpiece_tokenizer(lines, vocab_size):
    from tokenizers import BertWordPieceTokenizer

    backend = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    backend.train_from_iterator(
        lines, vocab_size=vocab_size, min_frequency=1, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend._tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def test_bert_style_source_with_wordpiece_target(tiny_corpus_dir):
    myv = (tiny_corpus_dir / "myv.txt").read_text(encoding="utf-8").splitlines()
    sme = (tiny_corpus_dir / "sme.txt").read_text(encoding="utf-8").splitlines()
    source_tokenizer = _wordpiece_tokenizer(myv[:200] + sme, 300)
    target_tokenizer = _wordpiece_tokenizer(myv, 150)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(source_tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        pad_token_id=source_tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(config)
    with torch.no_grad():
        model.cls.predictions.bias.normal_(0, 0.5)
    new, provenance = replace_vocabulary(model, source_tokenizer, target_tokenizer, InitOptions("script+posn+ident"))
    assert isinstance(new, BertForMaskedLM) and new.config.vocab_size == len(target_tokenizer)
    for attribute in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id", "unk_token_id"):
        new_id, old_id = getattr(target_tokenizer, attribute), getattr(source_tokenizer, attribute)
        assert torch.equal(new.get_input_embeddings().weight[new_id], model.get_input_embeddings().weight[old_id])
    ident = _rows_by_method(provenance, "ident")
    assert any(t["token"].startswith("##") for t in ident)
    ids, source_ids = [t["id"] for t in ident], [t["source_id"] for t in ident]
    assert torch.equal(new.cls.predictions.bias[ids], model.cls.predictions.bias[source_ids])
    assert torch.equal(new.cls.predictions.transform.dense.weight, model.cls.predictions.transform.dense.weight)
    assert new.cls.predictions.decoder.weight.data_ptr() == new.get_input_embeddings().weight.data_ptr()
    positions = {t["position"] for t in _rows_by_method(provenance, "script+posn")}
    assert positions <= {"initial", "internal"}
    assert provenance["tokens"][ids[0]]["script"] in ("Cyrillic", "Latin", "Common")


def test_missing_role_in_target_tokenizer_is_an_error(source, target_tokenizer):
    model, tokenizer = source
    broken = copy.deepcopy(target_tokenizer)
    broken.mask_token = None
    with pytest.raises(MissingSpecialTokenError, match="mask"):
        replace_vocabulary(model, tokenizer, broken, InitOptions("ident"))


def test_unknown_method_is_an_error(source, target_tokenizer):
    model, tokenizer = source
    with pytest.raises(KeyError, match="valid names"):
        replace_vocabulary(model, tokenizer, target_tokenizer, InitOptions("script+ident+wechsel"))


def test_source_without_input_embeddings_is_an_error(source, target_tokenizer):
    model, tokenizer = source

    class NoEmbeddings(torch.nn.Module):
        config = model.config

        def get_input_embeddings(self):
            return None

        def get_output_embeddings(self):
            return None

    with pytest.raises(SourceModelError, match="no input embeddings"):
        replace_vocabulary(NoEmbeddings(), tokenizer, target_tokenizer, InitOptions("ident"))


def _permuted_source_tokenizer(source_model_dir, seed=0):
    """The source's own tokens in another order (special tokens kept in place): an equal-size target vocabulary."""
    from transformers import XLMRobertaTokenizer

    from langadapt.layout import SENTENCEPIECE_MODEL_FILE
    from langadapt.tokenization import SpecialTokenLayout
    from langadapt.tokenization.hf_tokenizer import build_hf_tokenizer
    from langadapt.tokenization.sentencepiece_model import load_model_proto

    proto = load_model_proto(source_model_dir / SENTENCEPIECE_MODEL_FILE)
    pieces = [(p.piece, p.score, p.type) for p in proto.pieces]
    middle = pieces[4:-1]  # <s> <pad> </s> <unk> first, <mask> last
    order = torch.randperm(len(middle), generator=torch.Generator().manual_seed(seed)).tolist()
    for slot, (piece, score, kind) in zip(proto.pieces[4:-1], [middle[i] for i in order]):
        slot.piece, slot.score, slot.type = piece, score, kind
    return build_hf_tokenizer(proto, SpecialTokenLayout.xlm_roberta(), XLMRobertaTokenizer, "unigram")


def _untied_copy(model):
    config = copy.deepcopy(model.config)
    config.tie_word_embeddings = False
    untied = type(model)(config)
    untied.load_state_dict(model.state_dict())
    with torch.no_grad():
        untied.lm_head.decoder.weight.normal_(0, 1.0, generator=torch.Generator().manual_seed(5))
    return untied


@pytest.mark.parametrize("tied", [True, False])
def test_equal_size_vocabulary_follows_the_plan(source, source_model_dir, tied):
    """A target vocabulary as large as the source's still goes through the plan (not copied because shapes match)."""
    source_model, source_tokenizer = source
    model = source_model if tied else _untied_copy(source_model)
    permuted = _permuted_source_tokenizer(source_model_dir)
    assert len(permuted) == len(source_tokenizer) and permuted.get_vocab() != source_tokenizer.get_vocab()
    new, provenance = replace_vocabulary(model, source_tokenizer, permuted, InitOptions("ident"))
    # every token exists in the source: IDENT copies by string, so the permutation moves the rows
    old_ids = torch.tensor(
        source_tokenizer.convert_tokens_to_ids(permuted.convert_ids_to_tokens(range(len(permuted))))
    )
    assert provenance["summary"]["counts_per_method"].get("random", 0) == 0
    assert not torch.equal(old_ids, torch.arange(len(permuted)))
    assert torch.equal(new.get_input_embeddings().weight, model.get_input_embeddings().weight[old_ids])
    for bias in (new.lm_head.bias, new.lm_head.decoder.bias):  # separate parameters when untied (transformers 5)
        assert torch.equal(bias, model.lm_head.decoder.bias[old_ids])
    assert torch.equal(new.lm_head.decoder.weight, model.lm_head.decoder.weight[old_ids])
    assert (new.lm_head.decoder.weight.data_ptr() == new.get_input_embeddings().weight.data_ptr()) == tied

    # RANDOM re-initialisation of the source's own vocabulary: fresh rows, fixed bias, except special tokens
    fresh, provenance = replace_vocabulary(model, source_tokenizer, source_tokenizer, InitOptions("random"))
    random_ids = torch.tensor([t["id"] for t in _rows_by_method(provenance, "random")])
    assert len(random_ids) == len(source_tokenizer) - 5
    for new_matrix, old_matrix in [
        (fresh.get_input_embeddings().weight, model.get_input_embeddings().weight),
        (fresh.lm_head.decoder.weight, model.lm_head.decoder.weight),
    ]:
        assert not torch.isclose(new_matrix[random_ids], old_matrix[random_ids]).all(1).any()
        assert new_matrix[random_ids].std().item() == pytest.approx(model.config.initializer_range, rel=0.1)
    bias = model.lm_head.decoder.bias.detach()
    special = [source_tokenizer.bos_token_id, source_tokenizer.mask_token_id]
    for new_bias in (fresh.lm_head.bias, fresh.lm_head.decoder.bias):
        assert torch.allclose(new_bias[random_ids], torch.full((len(random_ids),), bias.mean().item()))
        assert torch.equal(new_bias[special], bias[special])


def init_every_other_free_id_from_row_4(context, plan):
    """An outside init method (passed as 'tests.test_vocab_replace:init_every_other_free_id_from_row_4')."""
    free = plan.free_ids()[::2]
    plan.add_copies(free, torch.full_like(free, 4), "outside")


def test_outside_method_runs_after_ident_and_before_script(source, target_tokenizer):
    """docs/vocab.md: a module:callable method sees the ids ident left, and script+posn fills the rest after it."""
    model, tokenizer = source
    outside = "tests.test_vocab_replace:init_every_other_free_id_from_row_4"
    new, provenance = replace_vocabulary(
        model, tokenizer, target_tokenizer, InitOptions(f"script+posn+{outside}+ident")
    )
    counts = provenance["summary"]["counts_per_method"]
    assert provenance["methods_in_precedence_order"] == ["special", "ident", outside, "script+posn", "random"]
    free_after_ident = len(target_tokenizer) - counts["special"] - counts["ident"]
    assert counts["outside"] == (free_after_ident + 1) // 2 and counts["script+posn"] == free_after_ident // 2
    outside_ids = [t["id"] for t in _rows_by_method(provenance, "outside")]
    weight = new.get_input_embeddings().weight
    assert torch.equal(weight[outside_ids], model.get_input_embeddings().weight[[4] * len(outside_ids)])
