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
    with pytest.raises(SystemExit):
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
    with pytest.raises(SystemExit):
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
