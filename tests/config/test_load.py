"""Reading JSONC files and composing includes (erasure/config/load.py)."""
from __future__ import annotations

import copy
import json

import json5
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erasure.config import ConfigError, copy_config, load_config, parse_text
from erasure.config import load as load_module


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


@pytest.mark.parametrize("jsonc", [False, True])
def test_the_depth_limit_is_the_same_for_json_and_jsonc_text(jsonc):
    tail = ", 'single quotes: json5 only'" if jsonc else ""
    assert len(str(parse_text("[" * 50 + "1" + tail + "]" * 50))) > 0
    with pytest.raises(ConfigError) as e:
        parse_text("[" * 51 + "1" + tail + "]" * 51)
    assert "nested too deeply" in only_problem(e.value).message


@pytest.mark.parametrize("depth", [100, 900, 5000])
def test_nesting_too_deep_is_a_config_error(depth):
    # json parses 900 levels, json5 and the rest of the pipeline do not: refused on both paths
    with pytest.raises(ConfigError) as e:
        parse_text("[" * depth + "]" * depth)
    assert "nested too deeply" in only_problem(e.value).message


def test_nesting_json5_could_parse_is_accepted():
    assert parse_text('{"a":' * 40 + "1" + "}" * 40) == json5.loads('{"a":' * 40 + "1" + "}" * 40)


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


# -- the fast path: json first, json5 only for what json cannot read --------------------------

def json5_only(text, source="cfg.jsonc"):
    """What parse_text gives (value, or error message and hint) with the json fast path off."""
    real = load_module._parse_fast
    load_module._parse_fast = lambda text, source: load_module._NOT_JSON
    try:
        return outcome(text, source)
    finally:
        load_module._parse_fast = real


def outcome(text, source="cfg.jsonc"):
    try:
        return "value", json5.dumps(parse_text(text, source))  # NaN-safe equality
    except ConfigError as e:
        return "error", [(p.path, p.message, p.hint) for p in e.problems]


@pytest.fixture
def no_json5(monkeypatch):
    """Fails a test that reaches json5."""
    def refuse(*args, **kwargs):
        raise AssertionError("json5 was used")

    monkeypatch.setattr(load_module.json5, "loads", refuse)


def test_plain_json_and_jsonc_with_comments_and_trailing_commas_skip_json5(no_json5):
    assert parse_text('{"ids": [1, 2, 3], "a": {"b": null}}') == {"ids": [1, 2, 3], "a": {"b": None}}
    text = """// header
    {"ids": [1, 2, 3,],  /* a block
       comment */ "url": "http://x.org/*y*/", "c": "//", "d": "a,]",
     "e": [ /* empty */ ], "f": {"g": 1,}, "h": "a \\" // still the string",}
    """
    assert parse_text(text) == {"ids": [1, 2, 3], "url": "http://x.org/*y*/", "c": "//",
                                "d": "a,]", "e": [], "f": {"g": 1},
                                "h": 'a " // still the string'}


def test_an_escaped_surrogate_pair_is_one_character(no_json5):
    # (json5 itself gives the two halves, which cannot be written as UTF-8)
    assert parse_text('{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@pytest.mark.parametrize("text", [
    '{"a": "x // not a comment", "b": "/* nor this */"}',
    '{"a": "quote \\" // then a comment", "b": 1}',
    '{"a": [1, /* c */ 2], // c\r"b": 2}',
    '[1, 2 /* , */, 3,]',
    '{"a": 1} // trailing comment without newline',
    '{"a": 1, "a": 2}',
    '{"a": {"b": 1, "b": 2}, "c": [1, 2, 3}',  # the syntax error is reported, not the duplicate
    '{"a": {"b": 1, "b": 2}, "a": 3}',
    '[,]', '{,}', '[1,,]', '{"a": 1,,}', '{"a",}', '[1 /* unclosed',
    "['//', 1]", "{a: 1, // c\n}", '{"a": 0x10,}', '{"a": .5,}', '{"a": "x\\\ny"}',
    '{"a": "tab\tin a string",}', '{"a": NaN, "b": -Infinity,}',
    '{"a": 1 // comment ended by a line separator\u2028}', '"\\ud83d"',
    "// only a comment", "/* only */ // comments\n",
])
def test_the_fast_path_gives_what_json5_gives(text):
    assert outcome(text) == json5_only(text)


_FILL = st.sampled_from([" ", "\n", "// c\n", "/* c */", "/* // */", "//x\r", "//x\u2028", ""])
_STRINGS = st.sampled_from(["a", "//", "/*", "*/", "a,]", 'x"y', "\\", "'", "\u00e9", ""])
_SCALARS = st.one_of(_STRINGS.map(json.dumps), st.sampled_from(["1", "-2.5", "true", "null",
                                                                 "NaN", "1e3"]))


def _jsonc(values):
    """JSONC texts: values with comments, whitespace and trailing commas between the tokens."""
    def join(draw_items, opening, closing):
        return st.tuples(draw_items, st.booleans(), _FILL).map(
            lambda t: opening + ",".join(t[0]) + ("," if t[0] and t[1] else "") + t[2] + closing)
    item = st.tuples(_FILL, values, _FILL).map("".join)
    pair = st.tuples(_FILL, _STRINGS.map(json.dumps), _FILL, values, _FILL).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}:{t[3]}{t[4]}")
    return join(st.lists(item, max_size=3), "[", "]") | join(st.lists(pair, max_size=3), "{", "}")


JSONC = st.recursive(_SCALARS, _jsonc, max_leaves=8)
_BREAKS = st.sampled_from([",", "[", "]", "{", "}", "/", "*", '"', "'", "\n", ":", "//", "/*",
                           "*/", ",,", "\\"])


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(text=JSONC, edits=st.lists(st.tuples(st.integers(0, 10**6), st.booleans(), _BREAKS),
                                  max_size=2))
def test_the_fast_path_agrees_with_json5_on_generated_jsonc(text, edits):
    """Valid JSONC and JSONC broken by a character or two: the same value or the same error."""
    for at, insert, piece in edits:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:] if insert else text[:at] + text[at + 1:]
    if text.strip():
        assert outcome(text) == json5_only(text), text


def test_a_large_list_of_ids_round_trips(tmp_path, no_json5):
    ids = list(range(200_000))
    path = write(tmp_path / "ids.jsonc", '// ids\n{"ids": ' + json.dumps(ids) + ',}')
    assert load_config(path) == {"ids": ids}


def test_copy_config_is_a_deep_copy():
    config = {"a": [1, 2.5, "x", None, True], "b": [{"c": [1]}, [2, [3]]], "d": {"e": {"f": 1}}}
    copied = copy_config(config)
    assert copied == config == copy.deepcopy(config)
    assert copied["a"] is not config["a"]
    assert copied["b"][0]["c"] is not config["b"][0]["c"]
    assert copied["b"][1][1] is not config["b"][1][1]
    assert copied["d"]["e"] is not config["d"]["e"]
