"""Reading JSONC files and composing includes (erasure/config/load.py)."""
from __future__ import annotations

import json

import pytest

from erasure.config import ConfigError, load_config, parse_text


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only_problem(error: ConfigError):
    assert len(error.problems) == 1, error.problems
    return error.problems[0]


def load_problem(path):
    """The one problem that loading ``path`` reports (it must raise ConfigError)."""
    with pytest.raises(ConfigError) as e:
        load_config(path)
    return only_problem(e.value)


# -- parsing ---------------------------------------------------------------------------------

def test_missing_comma_reports_line_and_column():
    text = '{\n  "a": 1\n  "b": 2\n}'
    with pytest.raises(ConfigError) as e:
        parse_text(text, "cfg.jsonc")
    problem = only_problem(e.value)
    assert problem.path == ""
    assert "cfg.jsonc" in problem.message
    assert "malformed JSONC" in problem.message
    assert "line 3" in problem.message
    assert "column 3" in problem.message


def test_newline_inside_a_string_still_reports_line_and_column():
    # the unexpected character is a newline: the position must still be extracted
    with pytest.raises(ConfigError) as e:
        parse_text('{"a": "x\n"}', "cfg.jsonc")
    message = only_problem(e.value).message
    assert "line 1, column 9" in message
    assert "\n" not in message
    assert "<string>" not in message


def test_comments_and_trailing_commas_are_accepted():
    text = """
    // a line comment
    {
      /* a block
         comment */
      "a": [1, 2, 3,],  // trailing comma in a list
      "b": {"c": "d",},  // and in an object
    }
    """
    assert parse_text(text) == {"a": [1, 2, 3], "b": {"c": "d"}}


def test_empty_text_is_reported():
    with pytest.raises(ConfigError) as e:
        parse_text("  \n\t ", "cfg.jsonc")
    assert only_problem(e.value).message == "cfg.jsonc is empty: a config is a JSON(C) object"


def test_duplicate_keys_are_rejected():
    with pytest.raises(ConfigError) as e:
        parse_text('{"seed": 1, "seed": 2}', "cfg.jsonc")
    message = only_problem(e.value).message
    assert "malformed JSONC" in message
    assert 'Duplicate key "seed"' in message


# -- files -----------------------------------------------------------------------------------

def test_loads_a_file_into_a_fresh_dict(tmp_path):
    path = write(tmp_path / "cfg.jsonc", '{"globals": {"seed": 3}, // comment\n}')
    first = load_config(path)
    assert first == {"globals": {"seed": 3}}
    first["globals"]["seed"] = 99
    assert load_config(str(path)) == {"globals": {"seed": 3}}


def test_empty_file(tmp_path):
    path = write(tmp_path / "empty.jsonc", "")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = only_problem(e.value).message
    assert "empty.jsonc is empty" in message


def test_nonexistent_file(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "nope.jsonc")
    message = only_problem(e.value).message
    assert message.startswith("config file not found:")
    assert "nope.jsonc" in message


def test_a_directory_is_not_a_config(tmp_path):
    (tmp_path / "folder.jsonc").mkdir()
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "folder.jsonc")
    assert "folder.jsonc is a directory, not a config file" in only_problem(e.value).message


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "latin1.jsonc"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = only_problem(e.value).message
    assert "is not UTF-8 text" in message
    assert "at byte 13" in message


def test_malformed_file_names_the_file_and_line(tmp_path):
    path = write(tmp_path / "bad.jsonc", '{\n  "a": 1,\n  "b": [1, 2\n}\n')
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = only_problem(e.value).message
    assert str(path) in message
    assert "line 4" in message
    assert "column" in message


@pytest.mark.parametrize("text, kind", [("[1, 2]", "list"), ('"text"', "str"), ("3", "int")])
def test_top_level_must_be_an_object(tmp_path, text, kind):
    path = write(tmp_path / "cfg.jsonc", text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert f"the top level of a config must be an object, not {kind}" in only_problem(e.value).message


# -- includes --------------------------------------------------------------------------------

def test_include_of_an_object_snippet(tmp_path):
    write(tmp_path / "opt.jsonc", '// an optimizer\n{"class": "Adam", "parameters": {"lr": 0.1}}')
    path = write(tmp_path / "cfg.jsonc", '{"predictor": {"optimizer": {"include": "opt.jsonc"}}}')
    assert load_config(path) == {
        "predictor": {"optimizer": {"class": "Adam", "parameters": {"lr": 0.1}}}}


def test_include_of_an_array_snippet(tmp_path):
    write(tmp_path / "unlearners.jsonc", '[{"class": "Identity"}, {"class": "Finetuning"},]')
    path = write(tmp_path / "cfg.jsonc", '{"unlearners": {"include": "unlearners.jsonc"}}')
    assert load_config(path) == {"unlearners": [{"class": "Identity"}, {"class": "Finetuning"}]}


def test_include_inside_a_list(tmp_path):
    write(tmp_path / "ft.jsonc", '{"class": "Finetuning"}')
    path = write(tmp_path / "cfg.jsonc",
                 '{"unlearners": [{"class": "Identity"}, {"include": "ft.jsonc"}]}')
    assert load_config(path)["unlearners"] == [{"class": "Identity"}, {"class": "Finetuning"}]


def test_keys_beside_an_include_are_merged_recursively(tmp_path):
    write(tmp_path / "predictor.jsonc", json.dumps({
        "class": "Predictor",
        "parameters": {"epochs": 20, "batch_size": 64,
                       "optimizer": {"class": "Adam", "parameters": {"lr": 0.001, "eps": 1e-8}}}}))
    path = write(tmp_path / "cfg.jsonc", """{
      "predictor": {"include": "predictor.jsonc",
                    "parameters": {"epochs": 5, "optimizer": {"parameters": {"lr": 0.1}}}}
    }""")
    assert load_config(path)["predictor"] == {
        "class": "Predictor",
        "parameters": {"epochs": 5, "batch_size": 64,
                       "optimizer": {"class": "Adam", "parameters": {"lr": 0.1, "eps": 1e-8}}}}


def test_a_snippet_included_twice_is_not_shared(tmp_path):
    write(tmp_path / "opt.jsonc", '{"class": "SGD", "parameters": {"lr": 0.1}}')
    path = write(tmp_path / "cfg.jsonc",
                 '{"a": {"include": "opt.jsonc"}, "b": {"include": "opt.jsonc", "parameters": {"lr": 2}}}')
    config = load_config(path)
    assert config["a"] == {"class": "SGD", "parameters": {"lr": 0.1}}
    assert config["b"] == {"class": "SGD", "parameters": {"lr": 2}}
    config["a"]["parameters"]["lr"] = 5
    assert config["b"]["parameters"]["lr"] == 2


def test_includes_are_relative_to_the_including_file(tmp_path):
    # cfg.jsonc -> snippets/unlearners.jsonc -> snippets/methods/ft.jsonc -> ../../shared/opt.jsonc
    write(tmp_path / "shared" / "opt.jsonc", '{"class": "SGD", "parameters": {"lr": 0.5}}')
    write(tmp_path / "snippets" / "methods" / "ft.jsonc",
          '{"class": "Finetuning", "parameters": {"optimizer": {"include": "../../shared/opt.jsonc"}}}')
    write(tmp_path / "snippets" / "unlearners.jsonc", '[{"include": "methods/ft.jsonc"}]')
    path = write(tmp_path / "configs" / "cfg.jsonc",
                 '{"unlearners": {"include": "../snippets/unlearners.jsonc"}}')
    assert load_config(path) == {"unlearners": [
        {"class": "Finetuning",
         "parameters": {"optimizer": {"class": "SGD", "parameters": {"lr": 0.5}}}}]}


def test_top_level_include_with_overrides(tmp_path):
    write(tmp_path / "base.jsonc", '{"globals": {"seed": 1, "device": "cpu"}, "unlearners": []}')
    path = write(tmp_path / "cfg.jsonc", '{"include": "base.jsonc", "globals": {"seed": 7}}')
    assert load_config(path) == {"globals": {"seed": 7, "device": "cpu"}, "unlearners": []}


def test_missing_include_file(tmp_path):
    path = write(tmp_path / "cfg.jsonc", '{"predictor": {"model": {"include": "nets/mlp.jsonc"}}}')
    problem = load_problem(path)
    assert problem.path == "predictor.model.include"
    assert "in included file nets/mlp.jsonc" in problem.message
    assert "config file not found" in problem.message
    assert str(tmp_path / "nets" / "mlp.jsonc") in problem.message


def test_malformed_included_file_reports_its_line(tmp_path):
    write(tmp_path / "snip.jsonc", '{\n\n  "a": 1\n  "b": 2\n}')
    path = write(tmp_path / "cfg.jsonc", '{"x": {"include": "snip.jsonc"}}')
    problem = load_problem(path)
    assert problem.path == "x.include"
    assert "snip.jsonc" in problem.message
    assert "line 4" in problem.message


def test_include_cycle_names_the_cycle(tmp_path):
    write(tmp_path / "a.jsonc", '{"x": {"include": "b.jsonc"}}')
    write(tmp_path / "b.jsonc", '{"y": {"include": "a.jsonc"}}')
    path = write(tmp_path / "cfg.jsonc", '{"top": {"include": "a.jsonc"}}')
    problem = load_problem(path)
    assert problem.path == "top.include"
    assert "include cycle: cfg.jsonc -> a.jsonc -> b.jsonc -> a.jsonc" in problem.message


def test_a_file_including_itself(tmp_path):
    path = write(tmp_path / "self.jsonc", '{"a": {"include": "self.jsonc"}}')
    problem = load_problem(path)
    assert problem.path == "a.include"
    assert problem.message == "include cycle: self.jsonc -> self.jsonc"


@pytest.mark.parametrize("value, kind", [("3", "int"), ('["a.jsonc"]', "list"), ("null", "NoneType")])
def test_include_value_must_be_a_string(tmp_path, value, kind):
    path = write(tmp_path / "cfg.jsonc", '{"data": {"include": %s}}' % value)
    problem = load_problem(path)
    assert problem.path == "data.include"
    assert problem.message == f"an include names a file (a string), not {kind}"


def test_extra_keys_beside_an_array_include_are_rejected(tmp_path):
    write(tmp_path / "list.jsonc", '[{"class": "Identity"}]')
    path = write(tmp_path / "cfg.jsonc", '{"unlearners": {"include": "list.jsonc", "name": "x"}}')
    problem = load_problem(path)
    assert problem.path == "unlearners.include"
    assert "list.jsonc holds a list" in problem.message
    assert "only an object snippet can take extra keys beside 'include'" in problem.message


def test_included_file_top_level_can_be_any_json_value(tmp_path):
    write(tmp_path / "lr.jsonc", "0.25 // just a number")
    path = write(tmp_path / "cfg.jsonc", '{"lr": {"include": "lr.jsonc"}}')
    assert load_config(path) == {"lr": 0.25}


# -- hard inputs (the corpus in tests/bad_configs runs them through the command line) ---------

@pytest.mark.parametrize("text, hint", [
    ('{\n  "a": "x,\n}', "A string is not closed before the end of the line."),
    ('{"a": 1}}', ""),
    ('{"a": {"b": 1}', "The file ends before every '{', '[', string or comment in it is closed."),
    ('{"a": True}', "JSON writes true, not Python's True."),
    ('{"a": None}', "JSON writes null, not Python's None."),
])
def test_common_syntax_faults_get_a_hint(text, hint):
    with pytest.raises(ConfigError) as e:
        parse_text(text, "cfg.jsonc")
    assert only_problem(e.value).hint == hint


def test_comments_only_is_reported_as_such():
    with pytest.raises(ConfigError) as e:
        parse_text("// a config\n/* to come */\n", "cfg.jsonc")
    assert only_problem(e.value).message == (
        "cfg.jsonc holds only comments: a config is a JSON(C) object")


def test_control_characters_are_escaped_in_the_message():
    with pytest.raises(ConfigError) as e:
        parse_text("\x00{}", "cfg.jsonc")
    assert 'Unexpected "\\x00"' in only_problem(e.value).message


def test_nesting_too_deep_is_a_config_error():
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_text("[" * 5000 + "]" * 5000)


def test_an_include_name_with_a_nul_byte(tmp_path):
    path = write(tmp_path / "main.jsonc", '{"a": {"include": "x\\u0000.jsonc"}}')
    problem = load_problem(path)
    assert problem.path == "a.include"
    assert "cannot use 'x\\x00.jsonc' as a file name" in problem.message


def test_nested_include_failures_name_the_path_once(tmp_path):
    write(tmp_path / "a.jsonc", '{"include": "b.jsonc"}')
    write(tmp_path / "b.jsonc", '{"include": "a.jsonc"}')
    path = write(tmp_path / "main.jsonc", '{"p": {"include": "a.jsonc"}}')
    problem = load_problem(path)
    assert problem.path == "p.include"
    assert problem.message == ("in included file a.jsonc: in included file b.jsonc: include cycle: "
                               "main.jsonc -> a.jsonc -> b.jsonc -> a.jsonc")
