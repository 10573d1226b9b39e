"""A word-level n-gram language model with interpolated Kneser-Ney smoothing, trained in seconds.

Smoothing (Kneser & Ney 1995; interpolated form of Chen & Goodman 1999, eq. 26), for context
length j = n-1 down to 1, with one absolute discount D_j = n₁/(n₁ + 2n₂) per order (Ney et al.
1994; n₁, n₂ = numbers of n-grams of that order seen once, twice):

    P_j(w | h) = max(c(h, w) - D_j, 0) / c(h) + D_j · N₁₊(h •) / c(h) · P_{j-1}(w | h')

where h' drops the oldest word of h, c are raw counts at the highest order and continuation
counts N₁₊(• h w) below it, and an unseen context h passes straight to P_{j-1}. The base is
the continuation unigram, interpolated the same way with the uniform distribution over the
vocabulary (minus <unk> and <s>), so that every word has a non-zero probability.

Sampling draws exactly from p(w | h)^(1/T) / Σ p^(1/T) at any temperature T without building
the |V|-wide distribution. Because the levels are nested (a word seen after h is seen after h'),
the vocabulary splits, for a history h whose longest seen context has length s, into groups by
the longest seen context a word follows: group t holds the words after h_t but not after h_{t+1}
(the base group: words after no context), and for w in group t

    p(w | h) = Λ_t(h) · P_t(w | h_t),   Λ_t(h) = Π_{j>t} λ(h_j).

So p^(1/T) = Λ_t^(1/T) · P_t^(1/T), and with the per-entry values P_t^(1/T), their per-context
sums and the sums over each context's entries of its parent's values precomputed once per T,
a draw picks a group by its mass Λ_t^(1/T) (Σ_{row h_t} P_t^(1/T) − Σ_{row h_{t+1}} P_t^(1/T)),
then a word from row h_t by inverse CDF, rejecting words of row h_{t+1}; rows still rejected
after a few rounds are drawn from their explicit (masked) group. Cost: O(levels) per token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from keel.errors import ConfigError
from keel.text import BOS_ID, EOS_ID, UNK_ID, IdArray, Vocab, detokenize, tokenize

FloatArray = npt.NDArray[np.float64]
MAX_KEY = 2**62
REJECTION_ROUNDS = 8
"""Rejection rounds before the rows still rejected are drawn from their explicit group."""


@dataclass(frozen=True, slots=True)
class Level:
    """The counts of one context length: CSR rows of next words per sorted context key."""

    contexts: IdArray
    """Sorted keys of the contexts (the last j word ids in base |V|)."""
    starts: IdArray
    """Context i's next words are words[starts[i]:starts[i+1]]."""
    words: IdArray
    counts: FloatArray
    keys: IdArray
    """Sorted keys of (context, word), i.e. context key · |V| + word."""
    totals: FloatArray
    """c(h): total count of each context."""
    backoff: FloatArray
    """λ(h) = D · N₁₊(h •) / c(h), the weight handed to the lower order."""
    discount: float


def _discount(counts: FloatArray) -> float:
    n1 = float(np.count_nonzero(counts == 1))
    n2 = float(np.count_nonzero(counts == 2))
    if n1 + n2 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 1.0)


def _level(keys: IdArray, counts: FloatArray, size: int) -> Level:
    """Build a level from unique sorted (context, word) keys and their counts."""
    contexts_all, words = np.divmod(keys, size)
    contexts, starts, per_context = np.unique(contexts_all, return_index=True, return_counts=True)
    starts = np.append(starts, len(keys)).astype(np.int64)
    d = _discount(counts)
    totals = np.add.reduceat(counts, starts[:-1]) if len(keys) else np.zeros(0)
    return Level(
        contexts=contexts.astype(np.int64),
        starts=starts,
        words=words.astype(np.int64),
        counts=counts,
        keys=keys,
        totals=totals,
        backoff=d * per_context / totals,
        discount=d,
    )


@dataclass(frozen=True, slots=True)
class Tempered:
    """One sampling group at temperature T: CSR rows of words with weights P(w | h)^(1/T)."""

    starts: IdArray
    words: IdArray
    weights: FloatArray
    cumulative: FloatArray
    """Running sum of `weights` over all rows."""
    row_mass: FloatArray
    """Σ of `weights` over each row."""
    parent_mass: FloatArray
    """Σ over each row of P_{j-1}(w | h')^(1/T), the same words' weights one level down."""
    backoff: FloatArray
    """λ(h)^(1/T)."""


def _find(sorted_keys: IdArray, queries: IdArray) -> tuple[IdArray, npt.NDArray[np.bool_]]:
    pos = np.searchsorted(sorted_keys, queries)
    pos = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    found = sorted_keys[pos] == queries if len(sorted_keys) else np.zeros(len(queries), dtype=bool)
    return pos, found


def _segments(starts: IdArray, lengths: IdArray) -> IdArray:
    """The indices starts[i] … starts[i] + lengths[i] - 1 of every segment, concatenated."""
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


@dataclass(frozen=True, slots=True)
class NGramModel:
    """An interpolated Kneser-Ney n-gram model over a fixed vocabulary; immutable once trained."""

    vocab: Vocab
    order: int
    levels: tuple[Level, ...]
    """levels[j] holds contexts of length j + 1 (j = 0 .. order - 2)."""
    unigram: FloatArray
    """P_0(w): continuation unigram interpolated with the uniform base."""
    unseen: float
    """P_0 of one word outside the vocabulary (its uniform share); sampling never emits <unk>."""

    @classmethod
    def train(
        cls,
        texts: Iterable[str | Sequence[str]],
        *,
        order: int = 3,
        vocab: Vocab | None = None,
    ) -> NGramModel:
        """Count n-grams of texts (strings are tokenised with `keel.text.tokenize`; token lists
        are taken as they are) and smooth them.

        The vocabulary defaults to the training texts' own types, so a model retrained on its
        own samples forgets the words those samples lost.
        """
        if order < 1:
            raise ConfigError(f"an n-gram order is at least 1, got {order}")
        docs = [tokenize(t) if isinstance(t, str) else list(t) for t in texts]
        voc = Vocab.build(docs) if vocab is None else vocab
        size = len(voc)
        # the vocabulary holds ≥ 3 types, so order ≥ 63 overflows: refuse it before the power
        if order >= MAX_KEY.bit_length() or size ** max(order, 2) >= MAX_KEY:
            raise ConfigError(
                f"order {order} with {size:,} types overflows 64-bit n-gram keys; lower the order"
            )
        pad = order - 1
        seqs = [np.concatenate(([BOS_ID] * pad, voc.encode(d), [EOS_ID])) for d in docs]
        flat = np.concatenate(seqs).astype(np.int64) if seqs else np.zeros(0, dtype=np.int64)
        targets = np.flatnonzero(flat != BOS_ID)
        grams = np.zeros(len(targets), dtype=np.int64)
        for back in range(pad, -1, -1):
            grams = grams * size + flat[targets - back]
        keys, counts = np.unique(grams, return_counts=True)
        levels: list[Level] = []
        counts_f = counts.astype(np.float64)
        for j in range(pad, 0, -1):
            levels.append(_level(keys, counts_f, size))
            # continuation counts one order down: distinct left extensions of each suffix
            keys, ext = np.unique(keys % size**j, return_counts=True)
            counts_f = ext.astype(np.float64)
        levels.reverse()
        cont = np.zeros(size)
        cont[keys] = counts_f
        d0 = _discount(counts_f)
        total = cont.sum()
        allowed = np.ones(size, dtype=bool)
        allowed[[UNK_ID, BOS_ID]] = False
        uniform = allowed / allowed.sum()
        lam0 = d0 * np.count_nonzero(cont) / total if total > 0 else 1.0
        unigram = np.maximum(cont - d0, 0.0) / max(total, 1.0) + lam0 * uniform
        return cls(voc, order, tuple(levels), unigram, lam0 / float(allowed.sum()))

    def _context_keys(self, history: IdArray, j: int) -> IdArray:
        """Keys of the last j + 1 ids of each row of `history` (rows x (order - 1))."""
        size = len(self.vocab)
        key = np.zeros(len(history), dtype=np.int64)
        for col in range(history.shape[1] - j - 1, history.shape[1]):
            key = key * size + history[:, col]
        return key

    def log_prob(self, history: IdArray, words: IdArray) -> FloatArray:
        """Natural-log probability of each `words[i]` after the `order - 1` ids `history[i]`."""
        size = len(self.vocab)
        prob = np.where(words == UNK_ID, self.unseen, self.unigram[words])
        for j, lev in enumerate(self.levels):
            ctx = self._context_keys(history, j)
            pos, seen = _find(lev.contexts, ctx)
            gpos, gseen = _find(lev.keys, ctx * size + words)
            c = np.where(gseen, lev.counts[gpos], 0.0)
            tot = lev.totals[pos]
            mixed = np.maximum(c - lev.discount, 0.0) / tot + lev.backoff[pos] * prob
            prob = np.where(seen, mixed, prob)
        return np.log(prob)

    def text_log_likelihood(self, text: str | Sequence[str]) -> float:
        """Natural-log likelihood of one text (a string is tokenised), end-of-text included."""
        return float(self.token_log_probs([text])[0].sum())

    def token_log_probs(self, texts: Sequence[str | Sequence[str]]) -> list[FloatArray]:
        """Per-token log probabilities (one array per text, end-of-text last); strings are
        tokenised with `keel.text.tokenize`."""
        pad = self.order - 1
        docs = [tokenize(t) if isinstance(t, str) else t for t in texts]
        ids = [np.concatenate(([BOS_ID] * pad, self.vocab.encode(t), [EOS_ID])) for t in docs]
        if not ids:
            return []
        flat = np.concatenate(ids).astype(np.int64)
        lengths = np.array([len(s) - pad for s in ids])
        starts = np.cumsum([0] + [len(s) for s in ids[:-1]], dtype=np.int64)
        targets = np.concatenate(
            [np.arange(s + pad, s + pad + n) for s, n in zip(starts, lengths, strict=True)]
        )
        history = np.zeros((len(targets), pad), dtype=np.int64)
        for c in range(pad):
            history[:, c] = flat[targets - pad + c]
        lp = self.log_prob(history, flat[targets])
        return np.split(lp, np.cumsum(lengths)[:-1])

    def sample_ids(
        self,
        count: int,
        rng: np.random.Generator,
        *,
        temperature: float = 1.0,
        max_tokens: int = 60,
        prefixes: Sequence[IdArray] | None = None,
    ) -> list[IdArray]:
        """`count` texts as id arrays (without <s>/</s>), stopping at </s> or `max_tokens`;
        with `prefixes` (one per text), text i continues prefixes[i] (not included)."""
        if temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        tables = self.tempered(temperature)
        pad = self.order - 1
        history = np.full((count, pad), BOS_ID, dtype=np.int64)
        if prefixes is not None:
            if len(prefixes) != count:
                raise ConfigError(f"{len(prefixes)} prompts for {count} texts: give one per text")
            for i, p in enumerate(prefixes):
                tail = p[max(len(p) - pad, 0) :]
                history[i, pad - len(tail) :] = tail
        out = np.full((count, max_tokens), EOS_ID, dtype=np.int64)
        live = np.arange(count)
        for step in range(max_tokens):
            if len(live) == 0:
                break
            h = history[live]
            nxt = self.draw(h, rng, tables)
            out[live, step] = nxt
            if pad:
                history[live] = np.concatenate([h[:, 1:], nxt[:, None]], axis=1)
            live = live[nxt != EOS_ID]
        ends = np.argmax(np.concatenate([out, np.full((count, 1), EOS_ID)], axis=1) == EOS_ID, 1)
        return [out[i, : ends[i]] for i in range(count)]

    def sample(
        self,
        count: int,
        *,
        seed: int | np.random.Generator = 0,
        temperature: float = 1.0,
        max_tokens: int = 60,
        prompts: Sequence[Sequence[str]] | None = None,
    ) -> list[list[str]]:
        """`count` sampled texts as token lists; the same seed gives the same texts. With
        `prompts` (token lists, one per text), text i is prompts[i] and its continuation;
        prompt words outside the vocabulary stay in the text and read as <unk> in the history."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        prefixes = None if prompts is None else [self.vocab.encode(p) for p in prompts]
        ids = self.sample_ids(
            count, rng, temperature=temperature, max_tokens=max_tokens, prefixes=prefixes
        )
        out = [self.vocab.decode(s) for s in ids]
        return out if prompts is None else [[*p, *t] for p, t in zip(prompts, out, strict=True)]

    def generate(
        self,
        count: int,
        *,
        seed: int = 0,
        temperature: float = 1.0,
        max_tokens: int = 60,
        prompts: Sequence[str] | None = None,
    ) -> list[str]:
        """`count` sampled texts, detokenised (`keel.text.detokenize`); `prompts` as in
        `sample`, given as strings."""
        toks = self.sample(
            count,
            seed=seed,
            temperature=temperature,
            max_tokens=max_tokens,
            prompts=None if prompts is None else [tokenize(p) for p in prompts],
        )
        return [detokenize(t) for t in toks]

    def digest(self) -> str:
        """SHA-256 (hex) over the order, the vocabulary and every level's arrays, in order."""
        h = hashlib.sha256(f"ngram:{self.order}\n".encode())
        h.update("\n".join(self.vocab.tokens).encode())
        for lev in self.levels:
            for f in fields(Level):
                value = getattr(lev, f.name)
                h.update(value.tobytes() if isinstance(value, np.ndarray) else repr(value).encode())
        h.update(self.unigram.tobytes())
        return h.hexdigest()

    def tempered(self, temperature: float) -> tuple[Tempered, ...]:
        """The sampling tables at temperature T: the base (all words), then one per level."""
        e = 1.0 / temperature
        size = len(self.vocab)
        base = self.unigram**e
        tables = [
            Tempered(
                np.array([0, size]), np.arange(size), base, np.cumsum(base),
                np.array([base.sum()]), np.zeros(1), np.ones(1),
            )
        ]  # fmt: skip
        below = self.unigram
        for j, lev in enumerate(self.levels):
            if j == 0:
                parent = self.unigram[lev.words]
            else:
                parent = below[np.searchsorted(self.levels[j - 1].keys, lev.keys % size ** (j + 1))]
            row = np.repeat(np.arange(len(lev.contexts)), np.diff(lev.starts))
            full = np.maximum(lev.counts - lev.discount, 0.0) / lev.totals[row]
            full += lev.backoff[row] * parent
            weights = full**e
            heads = lev.starts[:-1]
            tables.append(
                Tempered(
                    lev.starts, lev.words, weights, np.cumsum(weights),
                    np.add.reduceat(weights, heads), np.add.reduceat(parent**e, heads),
                    lev.backoff**e,
                )
            )  # fmt: skip
            below = full
        return tuple(tables)

    def draw(
        self, history: IdArray, rng: np.random.Generator, tables: Sequence[Tempered]
    ) -> IdArray:
        """One exact draw from p(· | h)^(1/T) per row of `history` (the module docstring)."""
        n, groups = len(history), len(tables)
        pos = np.zeros((n, groups), dtype=np.int64)
        seen = np.ones((n, groups), dtype=bool)
        for j, lev in enumerate(self.levels):
            pos[:, j + 1], seen[:, j + 1] = _find(lev.contexts, self._context_keys(history, j))
        mass = np.zeros((n, groups))
        scale, excluded = np.ones(n), np.zeros(n)
        for g in range(groups - 1, -1, -1):
            tab, p, s = tables[g], pos[:, g], seen[:, g]
            own = tab.row_mass[p]
            rest = np.where(own - excluded > 1e-12 * own, own - excluded, 0.0)
            mass[:, g] = np.where(s, scale * rest, 0.0)
            excluded = np.where(s, tab.parent_mass[p], excluded)
            scale = np.where(s, scale * tab.backoff[p], scale)
        cdf = np.cumsum(mass, axis=1)
        target = rng.random(n) * cdf[:, -1]
        group = np.minimum((target[:, None] >= cdf).sum(axis=1), groups - 1)
        result = np.empty(n, dtype=np.int64)
        for g in range(groups):
            rows = np.flatnonzero(group == g)
            above = np.full(len(rows), -1, dtype=np.int64)
            if g + 1 < groups:
                above = np.where(seen[rows, g + 1], pos[rows, g + 1], -1)
            result[rows] = self._draw_group(g, tables[g], pos[rows, g], above, rng)
        return result

    def _excluded(self, g: int, above: IdArray, words: IdArray) -> npt.NDArray[np.bool_]:
        """Whether each word follows its row's context one level up (row `above`; -1: none)."""
        if g == len(self.levels):
            return np.zeros(len(words), dtype=bool)
        lev = self.levels[g]
        _, found = _find(lev.keys, lev.contexts[np.maximum(above, 0)] * len(self.vocab) + words)
        return found & (above >= 0)

    def _draw_group(
        self, g: int, tab: Tempered, pos: IdArray, above: IdArray, rng: np.random.Generator
    ) -> IdArray:
        """Words of rows `pos` of group table `g` ∝ P^(1/T), minus those of the level above."""
        out = np.empty(len(pos), dtype=np.int64)
        first, stop = tab.starts[pos], tab.starts[pos + 1]
        lo = np.where(first > 0, tab.cumulative[first - 1], 0.0)
        hi = tab.cumulative[stop - 1]
        todo = np.arange(len(pos))
        for _ in range(REJECTION_ROUNDS):
            if len(todo) == 0:
                return out
            target = lo[todo] + rng.random(len(todo)) * (hi[todo] - lo[todo])
            idx = np.searchsorted(tab.cumulative, target, side="right")
            words = tab.words[np.clip(idx, first[todo], stop[todo] - 1)]
            ok = ~self._excluded(g, above[todo], words)
            out[todo[ok]] = words[ok]
            todo = todo[~ok]
        lengths = stop[todo] - first[todo]
        owner = np.repeat(np.arange(len(todo)), lengths)
        entry = _segments(first[todo], lengths)
        words = tab.words[entry]
        weight = np.where(self._excluded(g, above[todo][owner], words), 0.0, tab.weights[entry])
        cum = np.cumsum(weight)
        ends = np.cumsum(lengths) - 1
        seg_lo = np.where(ends - lengths >= 0, cum[np.maximum(ends - lengths, 0)], 0.0)
        target = seg_lo + rng.random(len(todo)) * (cum[ends] - seg_lo)
        idx = np.clip(np.searchsorted(cum, target, side="right"), ends - lengths + 1, ends)
        out[todo] = words[idx]
        return out

    def next_word_probs(self, history: IdArray) -> FloatArray:
        """The full next-word distribution p(· | h), one |V|-wide row per history (for checks)."""
        n = len(history)
        weight = np.ones(n)
        probs = np.zeros((n, len(self.vocab)))
        for j in range(len(self.levels) - 1, -1, -1):
            lev = self.levels[j]
            pos, seen = _find(lev.contexts, self._context_keys(history, j))
            rows = np.flatnonzero(seen)
            start, stop = lev.starts[pos[rows]], lev.starts[pos[rows] + 1]
            lengths = stop - start
            row_of = np.repeat(rows, lengths)
            entry = _segments(start, lengths)
            share = weight[row_of] / lev.totals[pos[row_of]]
            probs[row_of, lev.words[entry]] += share * np.maximum(
                lev.counts[entry] - lev.discount, 0.0
            )
            weight = np.where(seen, weight * lev.backoff[pos], weight)
        probs += weight[:, None] * self.unigram[None, :]
        return probs


def perplexity(model: NGramModel, texts: Sequence[Sequence[str]]) -> float:
    """exp of the mean negative log-likelihood per token (end-of-text tokens included)."""
    lps = model.token_log_probs(texts)
    total = sum(len(x) for x in lps)
    if total == 0:
        raise ConfigError("perplexity needs at least one text")
    return float(np.exp(-sum(float(x.sum()) for x in lps) / total))
