"""Diversity, tail and distance metrics of a corpus against a human reference corpus.

Texts are tokenised by `keel.text.tokenize`; a corpus may also be given as token-id sequences.
Counts are over the whole corpus (n-grams never cross texts). Entropies are in bits.
Sampled metrics (self-BLEU, Vendi, k-NN precision/recall) draw a seeded sample of texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from keel.collapse.embed import Embedder, HashingEmbedder, Matrix
from keel.collapse.settings import MetricsConfig
from keel.errors import InputError
from keel.scale import Executor
from keel.text import IdArray, encode_corpus, tokenize_all

FloatArray = npt.NDArray[np.float64]
TextsOrIds = Sequence[str] | Sequence[Sequence[int]]


@dataclass(frozen=True, slots=True)
class Corpus:
    """Token ids of many texts, flat: text i is ids[offsets[i]:offsets[i + 1]]."""

    ids: IdArray
    offsets: IdArray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IdArray:
        return np.diff(self.offsets)

    def take(self, rows: IdArray) -> Corpus:
        """The texts at `rows`, in that order."""
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = np.repeat(self.offsets[rows] - offsets[:-1], lengths)
        return Corpus(self.ids[starts + np.arange(offsets[-1])], offsets)


def ngram_keys(corpus: Corpus, n: int) -> tuple[IdArray, IdArray]:
    """Dense ids of every n-gram occurrence inside a text, and the text each belongs to.

    Ids are built one order at a time (rank of the (n-1)-gram, then · |V| + next id), so they
    never overflow 64 bits whatever the vocabulary size. A token id is already below |V|, so a
    bigram needs no ranking: id · |V| + next. Ranks keep the order of what they rank, so the
    ids sort as the n-grams do, whichever way they are built.
    """
    text_of = np.repeat(np.arange(len(corpus)), corpus.lengths)
    pos = np.arange(len(corpus.ids))
    valid = pos + n - 1 < len(corpus.ids)
    valid[valid] &= text_of[(pos + n - 1)[valid]] == text_of[valid]
    start = pos[valid]
    size = int(corpus.ids.max()) + 1 if len(corpus.ids) else 1
    keys = corpus.ids[start].astype(np.int64)
    for k in range(1, n):
        if k > 1:
            keys = np.unique(keys, return_inverse=True)[1].astype(np.int64)
        keys = keys * size + corpus.ids[start + k]
    return keys, text_of[start]


def type_counts(keys: IdArray) -> IdArray:
    """How often each distinct key occurs."""
    return np.unique(keys, return_counts=True)[1].astype(np.int64)


def distinct_n(corpus: Corpus, n: int) -> float:
    """Distinct-n = distinct n-grams / n-gram occurrences (Li et al., NAACL 2016); NaN if none."""
    keys, _ = ngram_keys(corpus, n)
    return _share(len(distinct(keys)), len(keys))


def distinct(keys: IdArray) -> IdArray:
    """The distinct values of `keys`, sorted: `np.unique(keys)` by a sort, which numpy 2.3's
    hash-based `unique` is several times slower than on millions of distinct n-gram ids."""
    s = np.sort(keys)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _share(distinct: int, occurrences: int) -> float:
    return float(distinct / occurrences) if occurrences else float("nan")


def entropy(counts: npt.ArrayLike) -> float:
    """Shannon entropy H = -Σ p log₂ p of the distribution given by counts (Shannon 1948)."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if c.size == 0:
        return float("nan")
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def gini_simpson(counts: npt.ArrayLike) -> float:
    """Gini-Simpson index 1 - Σ p², the chance two draws differ (Simpson, Nature 1949)."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    if total == 0:
        return float("nan")
    p = c / total
    return float(1.0 - (p * p).sum())


def kl_divergence(p_counts: npt.ArrayLike, q_counts: npt.ArrayLike, smoothing: float) -> float:
    """KL(P ‖ Q) = Σ p log₂(p/q) in bits, both add-`smoothing` estimates over the same types.

    p_i = (c_i + ε) / (N + ε·V) (Lidstone 1920); without smoothing a lost type makes it infinite.
    """
    p = np.asarray(p_counts, dtype=np.float64) + smoothing
    q = np.asarray(q_counts, dtype=np.float64) + smoothing
    p, q = p / p.sum(), q / q.sum()
    keep = p > 0
    return float((p[keep] * np.log2(p[keep] / q[keep])).sum())


def js_divergence(p_counts: npt.ArrayLike, q_counts: npt.ArrayLike) -> float:
    """Jensen-Shannon divergence ½KL(P‖M) + ½KL(Q‖M), M = (P+Q)/2, in bits, in [0, 1] (Lin 1991)."""
    p = np.asarray(p_counts, dtype=np.float64)
    q = np.asarray(q_counts, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: FloatArray) -> float:
        k = a > 0
        return float((a[k] * np.log2(a[k] / m[k])).sum())

    return max(0.0, min(1.0, 0.5 * kl(p) + 0.5 * kl(q)))


def document_counts(corpus: Corpus, size: int) -> IdArray:
    """For each type id < `size`, the number of texts it occurs in (document frequency)."""
    text_of = np.repeat(np.arange(len(corpus)), corpus.lengths)
    pairs = distinct(text_of * size + corpus.ids)
    return np.bincount(pairs % size, minlength=size).astype(np.int64)


def tail_types(doc_counts: IdArray, quantile: float, scale: float, min_count: float) -> IdArray:
    """Indices of the reference's measurable rare types, for a corpus `scale` times its size.

    Texts are the sampling unit (words are bursty: a rare word's occurrences cluster in few
    texts), so a type in d of the reference's texts is expected in e = d·scale texts of a
    human sample of the corpus's size (scale = corpus texts / reference texts) and is present
    there with probability ≈ 1 - exp(-e) (Poisson). Only types with e ≥ `min_count` are
    eligible (a human sample keeps them reliably; rarer ones vanish by sampling noise alone);
    the tail is the eligible types with d ≤ the `quantile` of the eligible types' d.
    """
    eligible = np.flatnonzero(doc_counts * scale >= min_count)
    if len(eligible) == 0:
        return eligible
    cut = np.quantile(doc_counts[eligible], quantile, method="lower")
    return eligible[doc_counts[eligible] <= cut]


def self_bleu(corpus: Corpus, max_n: int = 4, epsilon: float = 0.1) -> float:
    """Mean BLEU-`max_n` of each text against all the others as references (Zhu et al. 2018).

    BLEU (Papineni et al. 2002): clipped n-gram precisions p_n (clip = the largest count in any
    single other text), geometric mean with weights 1/max_n, brevity penalty exp(1 - r/c) with
    r the closest other length; zero numerators become ε (Chen & Cherry 2014, method 1), as
    `nltk.translate.bleu_score.sentence_bleu` with `SmoothingFunction().method1` does.
    """
    m = len(corpus)
    if m < 2:
        return float("nan")
    lengths = corpus.lengths
    log_p = np.zeros(m)
    no_unigram = np.zeros(m, dtype=bool)
    for n in range(1, max_n + 1):
        keys, text = ngram_keys(corpus, n)
        pair, counts = np.unique(keys * m + text, return_counts=True)
        gram, owner = np.divmod(pair, m)
        order = np.lexsort((-counts, gram))
        gram_s, owner_s, counts_s = gram[order], owner[order], counts[order]
        first = np.diff(gram_s, prepend=-1) != 0
        group = np.cumsum(first) - 1
        max1 = counts_s[first]
        top = owner_s[first]
        second = np.diff(first.astype(np.int8), prepend=0) == -1
        max2 = np.zeros(len(max1), dtype=np.int64)
        max2[group[second]] = counts_s[second]
        other = np.where(owner_s == top[group], max2[group], max1[group])
        clipped = np.bincount(owner_s, weights=np.minimum(counts_s, other), minlength=m)
        total = np.maximum(lengths - n + 1, 0)
        if n == 1:
            no_unigram = clipped == 0
        p = np.where(clipped > 0, clipped, epsilon) / np.maximum(total, 1)
        log_p += np.log(p) / max_n
    closest = _closest_other_length(lengths)
    c = lengths.astype(np.float64)
    bp = np.where(c > closest, 1.0, np.exp(1.0 - closest / np.maximum(c, 1e-300)))
    bleu = np.where(no_unigram | (c == 0), 0.0, bp * np.exp(log_p))
    return float(bleu.mean())


def _closest_other_length(lengths: IdArray) -> FloatArray:
    """For each text, the length of another text closest to its own (shorter wins ties)."""
    order = np.argsort(lengths, kind="stable")
    s = lengths[order].astype(np.float64)
    left = np.r_[np.inf, s[:-1]]
    right = np.r_[s[1:], np.inf]
    pick = np.where(np.abs(left - s) <= np.abs(right - s), left, right)
    out = np.empty(len(lengths))
    out[order] = pick
    return out


def vendi_score(embeddings: Matrix) -> float:
    """Vendi score exp(-Σ λ_i log λ_i), λ = eigenvalues of K/n, K the cosine kernel of the rows.

    Friedman & Dieng, TMLR 2023: the effective number of distinct items (1 … n). The non-zero
    eigenvalues of K/n = XXᵀ/n equal those of XᵀX/n, so it costs O(n·d²).
    """
    n = len(embeddings)
    if n == 0:
        return float("nan")
    lam = np.linalg.eigvalsh(embeddings.T @ embeddings / n)
    lam = lam[lam > 1e-12]
    lam = lam / lam.sum()
    return float(np.exp(-(lam * np.log(lam)).sum()))


def _kth_radius(x: Matrix, k: int) -> FloatArray:
    d = _distances(x, x)
    radius: FloatArray = np.partition(d, k, axis=1)[:, k]
    return radius


def _distances(a: Matrix, b: Matrix) -> Matrix:
    sq: Matrix = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def knn_precision_recall(real: Matrix, fake: Matrix, k: int = 5) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019).

    precision = share of generated points inside some real point's ball (radius: distance to
    its k-th nearest real neighbour); recall = share of real points inside some generated
    point's ball (radius: its k-th nearest generated neighbour).
    """
    if len(real) <= k or len(fake) <= k:
        return float("nan"), float("nan")
    cross = _distances(fake, real)
    precision = float((cross <= _kth_radius(real, k)[None, :]).any(axis=1).mean())
    recall = float((_kth_radius(fake, k)[None, :] >= cross.T).any(axis=1).mean())
    return precision, recall


@dataclass(frozen=True, slots=True)
class Reference:
    """The human reference corpus, tokenised and embedded once, to measure many corpora against."""

    texts: tuple[str, ...] | None
    corpus: Corpus
    index: dict[str, int] | dict[int, int]
    doc_counts: IdArray
    """Texts of the reference each type occurs in."""
    embed: Callable[[Sequence[str]], Matrix] | None
    sample_embeddings: Matrix | None
    config: MetricsConfig

    @classmethod
    def build(
        cls,
        texts: TextsOrIds,
        *,
        config: MetricsConfig | None = None,
        embedder: Embedder | None = None,
        executor: Executor | None = None,
    ) -> Reference:
        """Tokenise the reference (in shards on `executor` when given); fit the embedding on it
        when given strings."""
        cfg = config or MetricsConfig()
        if len(texts) == 0:
            raise InputError("the reference corpus is empty")
        index: dict[str, int] | dict[int, int] = {}
        corpus = _encode(texts, index, executor)
        docs = document_counts(corpus, len(index))
        if _is_text(texts):
            strs = tuple(str(t) for t in texts)
            chosen = embedder or HashingEmbedder()
            if isinstance(chosen, HashingEmbedder) and executor is not None:
                embed = chosen.fit(strs, executor=executor)
            else:
                embed = chosen.fit(strs)
            rows = _sample(len(strs), cfg.embed_sample, cfg.seed)
            sample = embed([strs[i] for i in rows])
            return cls(strs, corpus, index, docs, embed, sample, cfg)
        return cls(None, corpus, index, docs, None, None, cfg)


def _is_text(texts: TextsOrIds) -> bool:
    return len(texts) > 0 and isinstance(texts[0], str)


SHARD_TEXTS = 50_000
"""Texts tokenised per task when an executor shards the work."""


def _encode(
    texts: TextsOrIds, index: dict[str, int] | dict[int, int], executor: Executor | None = None
) -> Corpus:
    if executor is not None and _is_text(texts):
        words: dict[str, int] = index  # type: ignore[assignment]
        return _encode_sharded([str(t) for t in texts], words, executor)
    if _is_text(texts):
        words = index  # type: ignore[assignment]
        ids, offsets = encode_corpus(tokenize_all(str(t) for t in texts), words)
    else:
        numbers: dict[int, int] = index  # type: ignore[assignment]
        ids, offsets = encode_corpus([[int(x) for x in t] for t in texts], numbers)
    return Corpus(ids, offsets)


def encode_shard(texts: Sequence[str]) -> tuple[list[str], IdArray, IdArray]:
    """One shard's tokens as ids of its own vocabulary (in first-seen order), and its offsets."""
    local: dict[str, int] = {}
    ids, offsets = encode_corpus(tokenize_all(texts), local)
    return list(local), ids, offsets


def _encode_sharded(texts: list[str], index: dict[str, int], executor: Executor) -> Corpus:
    """`_encode` of texts tokenised shard by shard on `executor`, merged exactly.

    A token new to `index` takes the next id at its first occurrence in the whole corpus; the
    shards come back in order and each lists its vocabulary in first-seen order, so adding
    each shard's new tokens in that order gives every token the id the unsharded encoding
    gives it, and the corpus is the same array.
    """
    shards = [texts[i : i + SHARD_TEXTS] for i in range(0, len(texts), SHARD_TEXTS)]
    ids: list[IdArray] = []
    lengths: list[IdArray] = []
    setdefault = index.setdefault
    for vocab, local_ids, offsets in executor.map(encode_shard, shards):
        mapping = np.fromiter(
            (setdefault(w, len(index)) for w in vocab), dtype=np.int64, count=len(vocab)
        )
        ids.append(mapping[local_ids])
        lengths.append(np.diff(offsets))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths), out=offsets[1:])
    return Corpus(np.concatenate(ids).astype(np.int64), offsets)


def _share_present(counts: IdArray, types: IdArray) -> float:
    """Share of `types` that occur in `counts` (NaN for no types)."""
    return float(np.mean(counts[types] > 0)) if len(types) else float("nan")


def _sample(n: int, size: int, seed: int) -> IdArray:
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False)).astype(np.int64)


@dataclass(frozen=True, slots=True)
class CollapseMetrics:
    """Every metric of one corpus against the reference (see each function for its formula)."""

    texts: int
    tokens: int
    distinct_1: float
    distinct_2: float
    distinct_3: float
    entropy_1: float
    entropy_2: float
    gini_simpson: float
    support: int
    singleton_share: float
    tail_types: int
    """Number of tail types (the reference's measurable rare types at this corpus size)."""
    tail_retention: float
    tail_mass: float
    reference_tail_mass: float
    singleton_retention: float
    """Share of the reference's singletons present: mostly sampling noise, not used by the watch."""
    kl_to_reference: float
    js_to_reference: float
    self_bleu: float
    vendi: float
    precision: float
    recall: float
    length_mean: float
    length_std: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def measure(
    texts: TextsOrIds, reference: Reference, *, executor: Executor | None = None
) -> CollapseMetrics:
    """All collapse metrics of `texts` against `reference` (embedding metrics need strings).

    With an `executor`, the texts are tokenised and counted in shards on it (`_encode_sharded`);
    the metrics are the same, byte for byte."""
    cfg = reference.config
    if len(texts) == 0:
        raise InputError("cannot measure an empty corpus")
    if _is_text(texts) != (reference.texts is not None):
        raise InputError("give the corpus and the reference in the same form: texts or token ids")
    index = dict(reference.index)
    corpus = _encode(texts, index, executor)
    size = len(index)
    counts = np.bincount(corpus.ids, minlength=size)
    ref_counts = np.bincount(reference.corpus.ids, minlength=size)
    ref_total = max(int(ref_counts.sum()), 1)
    total = max(int(counts.sum()), 1)
    docs = np.zeros(size, dtype=np.int64)
    docs[: len(reference.doc_counts)] = reference.doc_counts
    scale = len(corpus) / len(reference.corpus)
    tail = tail_types(docs, cfg.tail_quantile, scale, cfg.tail_min_count)
    singletons = np.flatnonzero(ref_counts == 1)
    types = counts[counts > 0]
    lengths = corpus.lengths.astype(np.float64)
    bigrams = ngram_keys(corpus, 2)[0]
    bigram_types = type_counts(bigrams)

    bleu_rows = _sample(len(corpus), cfg.bleu_sample, cfg.seed)
    vendi = precision = recall = float("nan")
    if reference.embed is not None and reference.sample_embeddings is not None:
        rows = _sample(len(texts), cfg.embed_sample, cfg.seed)
        emb = reference.embed([str(texts[i]) for i in rows])
        vendi = vendi_score(emb)
        precision, recall = knn_precision_recall(reference.sample_embeddings, emb, cfg.knn_k)
    return CollapseMetrics(
        texts=len(corpus),
        tokens=len(corpus.ids),
        distinct_1=_share(len(types), len(corpus.ids)),
        distinct_2=_share(len(bigram_types), len(bigrams)),
        distinct_3=distinct_n(corpus, 3),
        entropy_1=entropy(types),
        entropy_2=entropy(bigram_types),
        gini_simpson=gini_simpson(types),
        support=len(types),
        singleton_share=float(np.mean(types == 1)) if len(types) else float("nan"),
        tail_types=len(tail),
        tail_retention=_share_present(counts, tail),
        tail_mass=float(counts[tail].sum() / total),
        reference_tail_mass=float(ref_counts[tail].sum() / ref_total),
        singleton_retention=_share_present(counts, singletons),
        kl_to_reference=kl_divergence(ref_counts, counts, cfg.kl_smoothing),
        js_to_reference=js_divergence(counts, ref_counts),
        self_bleu=self_bleu(corpus.take(bleu_rows)),
        vendi=vendi,
        precision=precision,
        recall=recall,
        length_mean=float(lengths.mean()),
        length_std=float(lengths.std()),
    )
