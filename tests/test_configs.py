"""The shared argument parser: defaults < YAML < command line, unknown keys, types, help text."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from langadapt import ConfigError, LangadaptParser, Registry


@dataclass
class ExampleArguments:
    learning_rate: float = field(default=1e-5, metadata={"help": "The learning rate."})
    steps: int = field(default=10, metadata={"help": "How many steps."})
    languages: list[str] = field(default_factory=lambda: ["myv"], metadata={"help": "Target languages."})
    mode: str = field(default="full", metadata={"help": "LAPT mode.", "choices": ["full", "emb"]})
    verbose: bool = field(default=False, metadata={"help": "Talk more."})


def write(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_precedence_default_yaml_cli(tmp_path):
    parser = LangadaptParser(ExampleArguments)
    config = write(tmp_path, "learning_rate: 1e-4\nsteps: 20\nlanguages: [myv, sme]\n")
    (args,) = parser.parse([config, "--steps", "30"])
    assert args.learning_rate == pytest.approx(1e-4)  # YAML over default ("1e-4" is a string to PyYAML)
    assert args.steps == 30  # command line over YAML
    assert args.languages == ["myv", "sme"]
    assert args.mode == "full"  # default kept
    (defaults,) = LangadaptParser(ExampleArguments).parse([])
    assert defaults == ExampleArguments()


def test_unknown_yaml_key_names_key_and_file(tmp_path):
    config = write(tmp_path, "learning_rat: 1e-4\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: unknown key 'learning_rat' \(did you mean learning_rate"):
        LangadaptParser(ExampleArguments).parse([config])


def test_unknown_cli_option_is_an_error(capsys):
    with pytest.raises(SystemExit, match="^2$"):  # argparse's usage-error status
        LangadaptParser(ExampleArguments).parse(["--no_such_option", "1"])
    assert "--no_such_option" in capsys.readouterr().err


def test_bad_yaml_values_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="key 'steps' has an invalid value 'many'"):
        LangadaptParser(ExampleArguments).parse([write(tmp_path, "steps: many\n")])
    with pytest.raises(ConfigError, match="key 'steps' has an invalid value 2.5"):
        LangadaptParser(ExampleArguments).parse([write(tmp_path, "steps: 2.5\n")])
    with pytest.raises(ConfigError, match=r"key 'mode' must be one of \[full, emb\]"):
        LangadaptParser(ExampleArguments).parse([write(tmp_path, "mode: adapters\n")])
    with pytest.raises(ConfigError, match="nested mapping"):
        LangadaptParser(ExampleArguments).parse([write(tmp_path, "mode:\n  a: 1\n")])
    with pytest.raises(ConfigError, match="config file not found"):
        LangadaptParser(ExampleArguments).parse([str(tmp_path / "missing.yaml")])


def test_booleans_from_yaml_and_cli(tmp_path):
    (args,) = LangadaptParser(ExampleArguments).parse([write(tmp_path, "verbose: true\n")])
    assert args.verbose is True
    (args,) = LangadaptParser(ExampleArguments).parse([write(tmp_path, "verbose: true\n"), "--verbose", "false"])
    assert args.verbose is False


def test_help_lists_every_field_with_its_help(capsys):
    with pytest.raises(SystemExit, match="^0$"):
        LangadaptParser(ExampleArguments).parse(["--help"])
    out = capsys.readouterr().out
    for name, text in [
        ("learning_rate", "The learning rate."),
        ("steps", "How many steps."),
        ("languages", "Target languages."),
        ("mode", "LAPT mode."),
        ("verbose", "Talk more."),
    ]:
        assert f"--{name}" in out and text in out


def test_registry_lookup_and_import_path():
    registry: Registry = Registry("init method")

    @registry.register("ident")
    def copy_rows():
        return "copied"

    assert registry.get("ident")() == "copied"
    assert "ident" in registry and registry.names() == ["ident"]
    assert registry.get("os.path:join")("a", "b") == "a/b"  # outside code by module:callable
    with pytest.raises(KeyError, match="unknown init method 'idnet'; valid names: ident"):
        registry.get("idnet")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("ident")(copy_rows)


def test_global_batch_size_counts_accumulation_and_processes():
    from types import SimpleNamespace

    from langadapt.configs import global_batch_size

    one_process = SimpleNamespace(per_device_train_batch_size=8, world_size=1, gradient_accumulation_steps=3)
    assert global_batch_size(one_process) == 24
    four_processes = SimpleNamespace(per_device_train_batch_size=8, world_size=4, gradient_accumulation_steps=3)
    assert global_batch_size(four_processes) == 96


def test_stated_global_batch_size_is_checked_against_the_launch(monkeypatch):
    from types import SimpleNamespace

    from langadapt.configs import check_global_batch_size

    def args(stated, per_device, processes, accumulation=1):
        return SimpleNamespace(global_batch_size=stated, per_device_train_batch_size=per_device,
                               world_size=processes, gradient_accumulation_steps=accumulation)  # fmt: skip

    check_global_batch_size(args(200, 200, 1))
    check_global_batch_size(args(200, 25, 8))
    check_global_batch_size(args(None, 200, 8))  # nothing stated: nothing to check
    with pytest.raises(ValueError, match=r"global_batch_size is 200 but .* = 1600: on 8 process\(es\) use "
                       r"--per_device_train_batch_size 25"):  # fmt: skip
        check_global_batch_size(args(200, 200, 8))
    with pytest.raises(ValueError, match=r"= 96: on 3 process\(es\) use a per-device batch and accumulation"):
        check_global_batch_size(args(200, 32, 3))


def test_finetune_config_on_eight_processes_is_refused(monkeypatch):
    from pathlib import Path

    from transformers import TrainingArguments

    from langadapt.evaluation import EvalDataArguments, EvalModelArguments, FinetuneArguments

    monkeypatch.setattr(TrainingArguments, "world_size", property(lambda self: 8))  # accelerate_configs/ddp.yaml
    config = str(Path(__file__).resolve().parents[1] / "recipes" / "configs" / "uralic" / "finetune_pos.yaml")
    parser = LangadaptParser((EvalDataArguments, EvalModelArguments, FinetuneArguments))
    with pytest.raises(ConfigError, match=r"global_batch_size is 72 but per_device_train_batch_size 72 x 8 processes"):
        parser.parse([config])
    *_, training_args = parser.parse([config, "--per_device_train_batch_size", "9"])
    assert training_args.global_batch_size == 72


@dataclass
class RenamedArguments:
    corpus_caps: list[str] = field(default_factory=list, metadata={"help": "Line caps.", "deprecated_names": ["caps"]})
    steps: int = field(default=10, metadata={"help": "How many steps."})


def test_deprecated_yaml_key_is_read_under_the_new_name_with_a_warning(tmp_path):
    config = write(tmp_path, "caps: [myv=3, sme=4]\n")
    with pytest.warns(FutureWarning, match=r"config\.yaml: 'caps' is deprecated .* use 'corpus_caps'"):
        (args,) = LangadaptParser(RenamedArguments).parse([config])
    assert args.corpus_caps == ["myv=3", "sme=4"]


@pytest.mark.parametrize(
    ("argv", "caps"),
    [(["--caps", "myv=3", "sme=4"], ["myv=3", "sme=4"]), (["--caps=myv=3", "--steps", "2"], ["myv=3"])],
)
def test_deprecated_option_is_read_under_the_new_name_with_a_warning(argv, caps):
    with pytest.warns(FutureWarning, match="command line: 'caps' is deprecated .* use 'corpus_caps'"):
        (args,) = LangadaptParser(RenamedArguments).parse(argv)
    assert args.corpus_caps == caps


def test_command_line_new_name_overrides_a_deprecated_yaml_key(tmp_path):
    config = write(tmp_path, "caps: [myv=3]\n")
    with pytest.warns(FutureWarning):
        (args,) = LangadaptParser(RenamedArguments).parse([config, "--corpus_caps", "sme=4"])
    assert args.corpus_caps == ["sme=4"]


def test_old_and_new_name_together_is_an_error(tmp_path):
    config = write(tmp_path, "caps: [myv=3]\ncorpus_caps: [sme=4]\n")
    with (
        pytest.warns(FutureWarning),
        pytest.raises(ConfigError, match="config.yaml: 'caps' is the deprecated name of 'corpus_caps'"),
    ):
        LangadaptParser(RenamedArguments).parse([config])
    with pytest.warns(FutureWarning), pytest.raises(ConfigError, match="command line: 'caps' is the deprecated name"):
        LangadaptParser(RenamedArguments).parse(["--caps", "myv=3", "--corpus_caps", "sme=4"])


def test_renamed_stage_fields_accept_their_old_names(tmp_path):
    from langadapt.tokenization import TokenizerTrainingArguments
    from langadapt.vocab import InitOptions, VocabReplacementArguments

    with pytest.warns(FutureWarning, match="use 'tokenizer_name_or_path'"):
        (tok,) = LangadaptParser(TokenizerTrainingArguments).parse(
            ["--corpora", "myv=a.txt", "--source_tokenizer", "src", "--output_dir", "out", "--caps", "myv=3"]
        )
    assert (tok.tokenizer_name_or_path, tok.corpus_caps) == ("src", ["myv=3"])
    config = write(tmp_path, "source_model: src\ntarget_tokenizer: tok\noutput_dir: out\n")
    with pytest.warns(FutureWarning, match="use 'model_name_or_path'"):
        replace, _ = LangadaptParser((VocabReplacementArguments, InitOptions)).parse([config])
    assert replace.model_name_or_path == "src"
