"""Tokenizer training: special-token ids and roles, SentencePiece parity, round trips, stats, errors."""

from __future__ import annotations

import json

import pytest
import sentencepiece as spm
from transformers import AutoTokenizer, BertTokenizer, XLMRobertaTokenizer

from langadapt.layout import SENTENCEPIECE_MODEL_FILE, TOKENIZER_STATS_FILE
from langadapt.recipes_loader import load_recipe
from langadapt.tokenization import SpecialTokenLayout, TokenizerTrainingArguments
from langadapt.tokenization.sentencepiece_model import VocabularySizeError, load_model_proto, processor_from_proto
from tests.conftest import synthetic_lines

train_tokenizer = load_recipe("train_tokenizer")

SENTENCES = ["Кованя эрзянь ломань.", "Mun lean dás čáhjegáddái ŋuovdu!", "Вана  кудо,   ды ворь?"]


def corpus_args(tiny_corpus_dir, source, output_dir, **overrides):
    values = dict(
        corpora=[f"myv={tiny_corpus_dir / 'myv.txt'}", f"sme={tiny_corpus_dir / 'sme.txt'}"],
        tokenizer_name_or_path=str(source),
        output_dir=str(output_dir),
        vocab_size=300,
        num_sample_lines=3000,
        stats_lines=100,
        seed=0,
    )
    values.update(overrides)
    return TokenizerTrainingArguments(**values)


def test_special_tokens_have_the_source_roles_and_order(target_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(target_tokenizer_dir)
    assert type(tokenizer) is XLMRobertaTokenizer  # the source's fast tokenizer class
    assert len(tokenizer) == 300
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 299]) == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert (tokenizer.unk_token_id, tokenizer.mask_token_id) == (3, 299)
    assert (tokenizer.cls_token, tokenizer.sep_token) == ("<s>", "</s>")
    vocab = tokenizer.get_vocab()
    assert sorted(vocab.values()) == list(range(300))  # no duplicate or dead ids
    ids = tokenizer("Кованя ломань")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2


def test_ids_match_sentencepiece_and_round_trip(target_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(target_tokenizer_dir)
    processor = spm.SentencePieceProcessor(model_file=str(target_tokenizer_dir / SENTENCEPIECE_MODEL_FILE))
    assert processor.get_piece_size() == len(tokenizer)
    assert (processor.unk_id(), processor.bos_id(), processor.eos_id(), processor.pad_id()) == (3, 0, 2, 1)
    round_trips = 0
    for line in SENTENCES + synthetic_lines("myv", 20, seed=5) + synthetic_lines("sme", 20, seed=5):
        ids = tokenizer(line, add_special_tokens=False)["input_ids"]
        assert ids == processor.encode(line)
        normalized = " ".join(line.split())  # SentencePiece folds runs of spaces
        if tokenizer.unk_token_id not in ids:  # rare capitals fall outside character_coverage 0.9995
            round_trips += 1
            assert tokenizer.decode(ids) == normalized == processor.decode(ids)
    assert round_trips >= 35


def test_statistics_file(target_tokenizer_dir):
    stats = json.loads((target_tokenizer_dir / TOKENIZER_STATS_FILE).read_text(encoding="utf-8"))
    assert stats["vocab_size"] == 300
    assert stats["special_tokens"]["ids"] == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 299}
    corpora = stats["corpora"]
    assert set(corpora) == {"myv", "sme"}
    assert corpora["myv"]["lines_used_for_training"] + corpora["sme"]["lines_used_for_training"] == 3000
    # α = 0.2 flattens 400:200 (p = 2/3) towards uniform
    assert corpora["myv"]["sampling_probability"] == pytest.approx((2 / 3) ** 0.2 / ((2 / 3) ** 0.2 + (1 / 3) ** 0.2))
    for corpus in corpora.values():
        for side in ("new_tokenizer", "source_tokenizer"):
            figures = corpus[side]
            assert figures["lines"] == 100 and figures["tokens"] >= figures["words"] > 0
            assert figures["fertility"] == pytest.approx(figures["tokens"] / figures["words"])
            assert 0 <= figures["unk_rate"] < 0.05


def test_same_seed_same_vocabulary(tmp_path, tiny_corpus_dir, source_model_dir, target_tokenizer_dir):
    again = train_tokenizer.main(corpus_args(tiny_corpus_dir, source_model_dir, tmp_path / "again"))
    pieces = [(p.piece, p.score) for p in load_model_proto(again / SENTENCEPIECE_MODEL_FILE).pieces]
    assert pieces == [
        (p.piece, p.score) for p in load_model_proto(target_tokenizer_dir / SENTENCEPIECE_MODEL_FILE).pieces
    ]
    other = train_tokenizer.main(corpus_args(tiny_corpus_dir, source_model_dir, tmp_path / "other", seed=1))
    assert [p.piece for p in load_model_proto(other / SENTENCEPIECE_MODEL_FILE).pieces] != [p for p, _ in pieces]


def test_bpe_option(tmp_path, tiny_corpus_dir, source_model_dir):
    output = train_tokenizer.main(corpus_args(tiny_corpus_dir, source_model_dir, tmp_path / "bpe", model_type="bpe"))
    tokenizer = AutoTokenizer.from_pretrained(output)
    processor = spm.SentencePieceProcessor(model_file=str(output / SENTENCEPIECE_MODEL_FILE))
    assert len(tokenizer) == 300 and tokenizer.mask_token_id == 299 and tokenizer.unk_token_id == 3
    for line in SENTENCES:
        assert tokenizer(line, add_special_tokens=False)["input_ids"] == processor.encode(line)


def test_wordpiece_source_layout(tmp_path, tiny_corpus_dir):
    """A BERT-style source: [PAD] [UNK] [CLS] [SEP] [MASK] first, in its order; generic fast tokenizer."""
    letters = sorted(set("".join(synthetic_lines("myv", 50, 0) + synthetic_lines("sme", 50, 0))) - {" "})
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters])}
    source = BertTokenizer(vocab=vocab, do_lower_case=False)
    assert SpecialTokenLayout.from_tokenizer(source).head == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    source.save_pretrained(tmp_path / "bert-source")
    output = train_tokenizer.main(corpus_args(tiny_corpus_dir, tmp_path / "bert-source", tmp_path / "wp"))
    tokenizer = AutoTokenizer.from_pretrained(output)
    assert tokenizer.convert_ids_to_tokens(list(range(5))) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (0, 1, 4)
    ids = tokenizer("Кованя ломань")["input_ids"]
    assert ids[0] == 2 and ids[-1] == 3


def test_vocabulary_too_large_for_the_data(tmp_path, tiny_corpus_dir, source_model_dir):
    args = corpus_args(tiny_corpus_dir, source_model_dir, tmp_path / "big", vocab_size=50_000)
    with pytest.raises(
        VocabularySizeError, match=r"vocab_size=50000 is more than the training text supports; at most"
    ):
        train_tokenizer.main(args)
    assert not (tmp_path / "big").exists()


def test_alpha_and_required_fields_are_checked(tmp_path, tiny_corpus_dir, source_model_dir):
    with pytest.raises(ValueError, match="alpha must be > 0"):
        corpus_args(tiny_corpus_dir, source_model_dir, tmp_path / "x", alpha=0)
    with pytest.raises(ValueError, match="output_dir is required"):
        TokenizerTrainingArguments(corpora=["a=b"], tokenizer_name_or_path="s")


def test_failed_run_keeps_the_previous_tokenizer(tmp_path, tiny_corpus_dir, source_model_dir, target_tokenizer_dir):
    import shutil

    output = tmp_path / "tok"
    shutil.copytree(target_tokenizer_dir, output)
    before = (output / SENTENCEPIECE_MODEL_FILE).read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        train_tokenizer.main(corpus_args(tiny_corpus_dir, source_model_dir, output))
    (tmp_path / "empty.txt").write_text("")
    bad = corpus_args(
        tiny_corpus_dir, source_model_dir, output, overwrite=True, corpora=[f"myv={tmp_path / 'empty.txt'}"]
    )
    with pytest.raises(ValueError, match=r"empty\.txt: file is empty"):
        train_tokenizer.main(bad)
    assert (output / SENTENCEPIECE_MODEL_FILE).read_bytes() == before


def test_recipe_main(tmp_path, tiny_corpus_dir, source_model_dir):
    (args,) = train_tokenizer.make_parser().parse(
        [
            "--corpora",
            f"myv={tiny_corpus_dir / 'myv.txt'}",
            f"sme={tiny_corpus_dir / 'sme.txt'}",
            "--tokenizer_name_or_path",
            str(source_model_dir),
            "--output_dir",
            str(tmp_path / "tok"),
            "--vocab_size",
            "256",
            "--num_sample_lines",
            "2000",
            "--stats_lines",
            "50",
        ]
    )
    output = train_tokenizer.main(args)
    assert len(AutoTokenizer.from_pretrained(output)) == 256


def test_equal_score_segmentations_are_ties_not_mismatches():
    """SentencePiece and `tokenizers` break Viterbi ties differently; a real difference must still raise."""
    from langadapt.tokenization.hf_tokenizer import TokenizerMismatchError, _is_tie, verify_against_sentencepiece
    from langadapt.tokenization.sentencepiece_model import apply_layout, model_pb2

    proto = model_pb2.ModelProto()
    proto.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
    for piece, score in [("<unk>", 0.0), ("▁a", -1.0), ("...", -3.0), (".", -1.0), ("▁", -2.0), ("..", -2.5)]:
        proto.pieces.add(piece=piece, score=score, type=2 if piece == "<unk>" else 1)
    proto = apply_layout(proto, SpecialTokenLayout.xlm_roberta())
    ids = {p.piece: i for i, p in enumerate(proto.pieces)}
    dots, dot = ids["..."], ids["."]
    assert _is_tie(proto, [dots, dot, dot], [dot, dot, dots])  # -5 either way, same text
    assert not _is_tie(proto, [dots, dot], [ids[".."], ids[".."]])  # same text, -4 vs -5: a real difference
    assert not _is_tie(proto, [dots], [dot])  # different text

    class FixedTokenizer:  # answers every line with the given ids; names pieces like the proto
        def __init__(self, answer):
            self.answer = answer

        def convert_ids_to_tokens(self, i):
            return proto.pieces[i].piece

        def __call__(self, line, add_special_tokens=False):
            return {"input_ids": self.answer}

    processor_ids = processor_from_proto(proto).encode("a .....")
    assert verify_against_sentencepiece(FixedTokenizer(processor_ids), proto, ["a ....."]) == 0
    with pytest.raises(TokenizerMismatchError, match="ids differ"):
        verify_against_sentencepiece(FixedTokenizer([ids["▁a"]]), proto, ["a ....."])
