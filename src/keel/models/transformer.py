"""A small decoder-only transformer language model over keel's word vocabulary, trained from
scratch on the CPU in seconds (the `[lm]` extra: torch).

Architecture (GPT-2 shaped): token embeddings plus learned position embeddings, `layers`
pre-LN blocks x ↦ x + Attn(LN(x)), x ↦ x + MLP(LN(x)) (Radford et al. 2019, "Language Models
are Unsupervised Multitask Learners", §2.3), causal multi-head scaled dot-product attention
softmax(QKᵀ/√d_k)V (Vaswani et al. 2017, "Attention Is All You Need", §3.2), a GELU MLP of
width 4·d_model, a final LayerNorm, and output logits h·Eᵀ through the input embedding matrix E
(tied embeddings: Press & Wolf 2017, "Using the Output Embedding to Improve Language Models").

Training: texts are `<s> tokens </s>`, concatenated into one stream (packed) from which each
step draws `batch` windows of `context` + 1 ids at uniform offsets; the loss is the mean
cross-entropy of every next id but <s>; AdamW (Loshchilov & Hutter 2019) with a linear warm-up
over the first 5% of steps, then cosine decay to zero (Loshchilov & Hutter 2017, SGDR).

Scoring a text longer than `context` slides a window by `context // 2`: each id is predicted
from between `context // 2` and `context` ids before it. Generation feeds every text one id
per step at the same position (prompt ids are forced, later ids sampled), with a key/value
cache while the texts fit in `context`, then a sliding window of the last `context` ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from keel.errors import ConfigError
from keel.records import JSON
from keel.text import BOS_ID, EOS_ID, UNK_ID, IdArray, Vocab, detokenize, tokenize

try:
    import torch
    import torch.nn.functional as F  # noqa: N812
    from torch import Tensor, nn
except ImportError as exc:
    raise ConfigError(
        "the transformer generator needs the [lm] extra: pip install 'keel[lm]'"
    ) from exc

FloatArray = npt.NDArray[np.float64]
IGNORE = -100
"""Target id that cross-entropy skips (the <s> after each </s> of the packed stream)."""
SCORE_ROWS = 64
"""Windows scored per forward pass: bounds the rows x context x |V| logits held at once."""


@dataclass(frozen=True)
class TransformerConfig:
    """Size and training settings of the transformer generator."""

    layers: int = 2
    d_model: int = 64
    heads: int = 4
    context: int = 48
    dropout: float = 0.0
    steps: int = 300
    batch: int = 32
    lr: float = 3e-3
    min_count: int = 2
    """Words seen fewer times in the training texts read as <unk>."""
    threads: int = 2
    """torch CPU threads while training, scoring and generating (restored afterwards)."""

    def __post_init__(self) -> None:
        for name in ("layers", "d_model", "heads", "steps", "batch", "min_count", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"transformer {name} must be ≥ 1, got {getattr(self, name)}")
        if self.d_model % self.heads:
            raise ConfigError(
                f"transformer d_model ({self.d_model}) must be a multiple of heads ({self.heads})"
            )
        if self.context < 2:
            raise ConfigError(f"transformer context must be ≥ 2 tokens, got {self.context}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"transformer dropout must be in [0, 1), got {self.dropout}")
        if not self.lr > 0:
            raise ConfigError(f"transformer lr must be > 0, got {self.lr}")


Cache = tuple[Tensor, Tensor]


class _Block(nn.Module):
    """One pre-LN block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        d = config.d_model
        self.heads = config.heads
        self.dropout = config.dropout
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)

    def forward(self, x: Tensor, cache: Cache | None = None, start: int = 0) -> Tensor:
        """With `cache`, x holds one position (`start`) and attends to the cached ones."""
        n, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(n, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        if cache is None:
            drop = self.dropout if self.training else 0.0
            a = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        else:
            keys, values = cache
            keys[:, :, start : start + t] = k
            values[:, :, start : start + t] = v
            a = F.scaled_dot_product_attention(
                q, keys[:, :, : start + t], values[:, :, : start + t]
            )
        x = x + self._drop(self.proj(a.transpose(1, 2).reshape(n, t, d)))
        return x + self._drop(self.out(F.gelu(self.fc(self.ln2(x)))))

    def _drop(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.dropout, self.training)


class _Network(nn.Module):
    """Embeddings, blocks, final LayerNorm; logits through the tied token embedding."""

    def __init__(self, config: TransformerConfig, size: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(size, config.d_model)
        self.pos = nn.Embedding(config.context, config.d_model)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.layers))
        self.ln = nn.LayerNorm(config.d_model)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() > 1:
                residual = name.endswith(("proj.weight", "out.weight"))
                std = 0.02 / math.sqrt(2 * config.layers) if residual else 0.02
                nn.init.normal_(p, std=std)

    def forward(
        self,
        ids: Tensor,
        caches: Sequence[Cache] | None = None,
        start: int = 0,
        *,
        last: bool = False,
    ) -> Tensor:
        """Logits of the next id at every position of `ids` (rows x positions), or only at the
        last position (rows x |V|) with `last`."""
        where = torch.arange(start, start + ids.shape[1])
        x = self.tok(ids) + self.pos(where)
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i], start)
        return F.linear(self.ln(x[:, -1] if last else x), self.tok.weight)


@contextlib.contextmanager
def _threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _learning_rate(config: TransformerConfig, step: int) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to 0 (step counts from 0)."""
    warm = max(1, config.steps // 20)
    if step < warm:
        return config.lr * (step + 1) / warm
    done = (step - warm) / max(1, config.steps - warm)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * done))


def _windows(length: int, context: int) -> list[tuple[int, int, int]]:
    """(start, first target, last target + 1) of the windows that score ids 1..length-1 of a
    text: id p is scored from the window at the smallest multiple of context // 2 ≥ p - context."""
    stride = max(1, context // 2)
    out, first = [], 1
    while first < length:
        start = max(0, math.ceil((first - context) / stride) * stride)
        stop = min(length, start + context + 1)
        out.append((start, first, stop))
        first = stop
    return out


def _draw(logits: Tensor, temperature: float, draws: torch.Generator) -> Tensor:
    """One id per row from softmax(logits / T) with <unk> and <s> excluded (inverse CDF)."""
    logits[:, [UNK_ID, BOS_ID]] = -math.inf
    cdf = torch.softmax(logits.div_(temperature), dim=-1).cumsum(dim=-1, dtype=torch.float64)
    u = torch.rand(len(cdf), 1, generator=draws, dtype=torch.float64) * cdf[:, -1:]
    return torch.searchsorted(cdf, u)[:, 0].clamp(max=cdf.shape[1] - 1)


@dataclass(frozen=True, eq=False)
class TransformerModel:
    """A trained transformer generator; treat as immutable (the network stays in eval mode)."""

    vocab: Vocab
    config: TransformerConfig
    net: _Network
    seed: int

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        config: TransformerConfig = TransformerConfig(),
        *,
        seed: int = 0,
        on_step: Callable[[int, int], None] | None = None,
    ) -> TransformerModel:
        """Train from scratch on `texts` (tokenised with `keel.text.tokenize`); the same texts,
        config and seed give the same parameters. `on_step(done, total)` reports progress."""
        if not texts:
            raise ConfigError("the transformer needs at least one training text, got none")
        docs = [tokenize(t) for t in texts]
        vocab = Vocab.build(docs, min_count=config.min_count)
        flat = np.concatenate([[BOS_ID, *vocab.encode(d), EOS_ID] for d in docs])
        span = config.context + 1
        stream = torch.from_numpy(np.resize(flat, len(flat) + span).astype(np.int64))
        offsets = torch.arange(span)
        with _threads(config.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _Network(config, len(vocab))
            draws = torch.Generator().manual_seed(seed)
            decay = [p for p in net.parameters() if p.dim() > 1]
            rest = [p for p in net.parameters() if p.dim() <= 1]
            opt = torch.optim.AdamW(
                [{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                lr=config.lr,
                betas=(0.9, 0.98),
            )
            net.train()
            for step in range(config.steps):
                starts = torch.randint(len(flat), (config.batch,), generator=draws)
                window = stream[starts[:, None] + offsets]
                target = window[:, 1:].masked_fill(window[:, 1:] == BOS_ID, IGNORE)
                logits = net(window[:, :-1])
                loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=IGNORE)
                for group in opt.param_groups:
                    group["lr"] = _learning_rate(config, step)
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
                if on_step is not None:
                    on_step(step + 1, config.steps)
        net.eval()
        return cls(vocab, config, net, seed)

    def token_log_probs(self, texts: Sequence[str]) -> list[FloatArray]:
        """Natural-log probability of each token of each text and of its </s> (words outside
        the vocabulary are scored as <unk>); texts longer than `context` slide (module doc)."""
        context = self.config.context
        ids = [np.array([BOS_ID, *self.vocab.encode(tokenize(t)), EOS_ID]) for t in texts]
        out = [np.zeros(len(s) - 1) for s in ids]
        jobs = [(i, w) for i, s in enumerate(ids) for w in _windows(len(s), context)]
        with _threads(self.config.threads), torch.inference_mode():
            for lo in range(0, len(jobs), SCORE_ROWS):
                chunk = jobs[lo : lo + SCORE_ROWS]
                rows = np.full((len(chunk), context), EOS_ID, dtype=np.int64)
                for r, (i, (start, _, stop)) in enumerate(chunk):
                    rows[r, : stop - 1 - start] = ids[i][start : stop - 1]
                logp = F.log_softmax(self.net(torch.from_numpy(rows)), dim=-1).double().numpy()
                for r, (i, (start, first, stop)) in enumerate(chunk):
                    at = np.arange(first - 1 - start, stop - 1 - start)
                    out[i][first - 1 : stop - 1] = logp[r, at, ids[i][first:stop]]
        return out

    def generate(
        self,
        count: int,
        *,
        seed: int = 0,
        temperature: float = 1.0,
        max_tokens: int = 60,
        prompts: Sequence[str] | None = None,
    ) -> list[str]:
        """`count` texts sampled from softmax(logits / T) (never <unk> or <s>), each stopping at
        </s> or after `max_tokens` new tokens; with `prompts` (one per text), text i starts with
        the tokens of prompts[i] (words outside the vocabulary are kept in the text and read as
        <unk> by the model). The same model, arguments and seed give the same texts."""
        if temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        if count < 0 or max_tokens < 0:
            raise ConfigError(f"count and max_tokens must be ≥ 0, got {count} and {max_tokens}")
        if prompts is not None and len(prompts) != count:
            raise ConfigError(f"{len(prompts)} prompts for {count} texts: give one per text")
        heads = [tokenize(p) for p in prompts] if prompts is not None else [[]] * count
        prefixes = [np.array([BOS_ID, *self.vocab.encode(h)]) for h in heads]
        with _threads(self.config.threads), torch.inference_mode():
            new = self._sample(prefixes, seed, temperature, max_tokens)
        return [detokenize([*h, *self.vocab.decode(s)]) for h, s in zip(heads, new, strict=True)]

    def _sample(
        self, prefixes: Sequence[IdArray], seed: int, temperature: float, max_tokens: int
    ) -> list[IdArray]:
        """The new ids (without </s>) after each prefix; all rows advance one position a step."""
        n, context, cfg = len(prefixes), self.config.context, self.config
        lengths = np.array([len(p) for p in prefixes], dtype=np.int64)
        width = int(lengths.max(initial=1)) + max_tokens
        ids = torch.full((n, width), EOS_ID, dtype=torch.int64)
        for i, p in enumerate(prefixes):
            ids[i, : len(p)] = torch.from_numpy(p)
        made = np.zeros(n, dtype=np.int64)
        active = np.arange(n) if max_tokens else np.arange(0)
        """Rows still computed (and held in the caches); `alive` marks those not finished."""
        alive = np.ones(len(active), dtype=bool)
        shape = (n, cfg.heads, context, cfg.d_model // cfg.heads)
        caches = [(torch.zeros(shape), torch.zeros(shape)) for _ in range(cfg.layers)]
        draws = torch.Generator().manual_seed(seed)
        pos = 0
        while alive.any():
            if alive.sum() <= 0.75 * len(active):
                active, kept = active[alive], torch.from_numpy(alive)
                caches = [(k[kept], v[kept]) for k, v in caches]
                alive = alive[alive]
            rows = torch.from_numpy(active)
            if pos < context:
                logits = self.net(ids[rows, pos : pos + 1], caches, pos, last=True)
            else:
                logits = self.net(ids[rows, pos - context + 1 : pos + 1], last=True)
            free = np.flatnonzero(alive & (lengths[active] <= pos + 1))
            if len(free):
                word = _draw(logits[torch.from_numpy(free)], temperature, draws)
                chosen = active[free]
                ids[torch.from_numpy(chosen), pos + 1] = word
                made[chosen] += 1
                alive[free[(word.numpy() == EOS_ID) | (made[chosen] >= max_tokens)]] = False
            pos += 1
        out = []
        for i, p in enumerate(prefixes):
            tail = ids[i, len(p) : len(p) + made[i]].numpy()
            out.append(tail[tail != EOS_ID])
        return out

    def digest(self) -> str:
        """SHA-256 (hex) over the architecture, the vocabulary and every parameter's bytes in
        `state_dict` order: equal digests, equal models."""
        c = self.config
        h = hashlib.sha256(f"transformer:{c.layers}:{c.d_model}:{c.heads}:{c.context}\n".encode())
        h.update("\n".join(self.vocab.tokens).encode())
        for name, value in self.net.state_dict().items():
            h.update(f"\n{name}:{tuple(value.shape)}\n".encode())
            h.update(value.detach().contiguous().numpy().tobytes())
        return h.hexdigest()

    def config_json(self) -> dict[str, JSON]:
        """The settings for the ledger's run entry: kind, config, seed, vocabulary and size."""
        settings: dict[str, JSON] = {"generator": "transformer", **asdict(self.config)}
        parameters = sum(p.numel() for p in self.net.parameters())
        return {**settings, "seed": self.seed, "vocab": len(self.vocab), "parameters": parameters}
