"""Reward models fitted to a judge's preferences: Bradley–Terry, and a fit corrected for the
judge's asymmetric flips measured on expert-labelled anchor pairs.

The model is r_φ(x, y) = φ · f(x, y), linear in hashed features of the response y (word 1- and
2-grams, signed feature hashing: Weinberger et al. 2009, "Feature hashing for large scale
multitask learning", ICML) with two dense features: ln(1 + tokens of y) and the share of y's
tokens found in the prompt x. Each showing of a pair is one observation: `a` is the response
on the orientation's positive side (the longer one, or the one shown first), z̃ = 1 when the
judge picked it (½ for a tie), and Δ = r(x, a) − r(x, b).

- Bradley–Terry (Bradley & Terry 1952; the reward-model loss of Ouyang et al. 2022,
  arXiv 2203.02155): minimise −[z̃ ln σ(Δ) + (1 − z̃) ln σ(−Δ)].
- Noise-corrected (class-conditional label noise, Natarajan et al. 2013, "Learning with Noisy
  Labels", NeurIPS; its Bradley–Terry form in Wang et al. 2024, "Secrets of RLHF II",
  arXiv 2401.06080): with ε₊ = P(the judge picks b | a is truly better) and
  ε₋ = P(the judge picks a | b is truly better),

      P(z̃ = 1) = (1 − ε₊)·σ(Δ) + ε₋·σ(−Δ),

  and the fit maximises this likelihood of the judge's answers. Read from the loser's side (the
  judge named b, so y_w = b and Δ_w = r(b) − r(a) = −Δ), it is the issue's form
  P(y_w ≻ y_l observed) = (1 − ε₋)·σ(Δ_w) + ε₊·σ(−Δ_w). Flips oriented by a property both
  the anchors and the unlabelled pairs have (length, slot) are what make them asymmetric: a
  judge that flips against longer answers twice as often teaches a plain fit to dislike
  length, and the corrected fit undoes it. ε₊ + ε₋ < 1 is needed (a judge better than chance).

The rates come from anchor pairs (`estimate_noise`): each anchor pair's share of showings that
flip its gold is one Bernoulli-like unit, and ε̂ = Σ shares / pairs with a Wilson interval
(Wilson 1927; `keel.judges.stats.wilson`), per side. Held-out accuracy on expert-labelled pairs
is the share ranked as the expert ranked them (a tie of rewards counts ½), with a Wilson
interval.

Why not TRL's RewardTrainer: it trains a sequence-classification transformer with the fixed
Bradley–Terry loss; the corrected likelihood would need a custom `compute_loss`, and a
transformer on 2 CPU cores fits a few hundred pairs in the time this model fits thousands. Why
not torch: the model is linear, so the gradient is closed-form, dΔ-loss = −(z̃/p − (1 −
z̃)/(1 − p))·(1 − ε₊ − ε₋)·σ(Δ)σ(−Δ); a plain numpy loop (mini-batch Adam, Kingma & Ba 2015)
is deterministic for a seed and runs on keel's core install, and `RewardModel.score` serves a
TRL trainer as a reward function all the same.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import orjson
from scipy import sparse

from keel._files import write_file
from keel.errors import ConfigError, InputError
from keel.judges import Estimate, wilson
from keel.ledger import Ledger
from keel.records import (
    JSON,
    Digest,
    Entry,
    EntryId,
    Run,
    canonical,
    entry_bytes,
    entry_id,
    mix,
)
from keel.rlaif.pairs import JudgedPair, Pair
from keel.text import tokenize

Orientation = Literal["longer", "first"]
"""Which response of a showing is `a` for the flip rates: the longer one (ties: the pair's `a`)
or the one shown first."""
Method = Literal["bradley-terry", "noise-corrected"]
FORMAT = "keel-reward/1"
Floats = npt.NDArray[np.float64]
_DENSE = ("log_length", "prompt_overlap")


@dataclass(frozen=True, slots=True)
class FitConfig:
    """How a reward model is fitted: feature size, mini-batch Adam settings, L2 penalty, seed."""

    dim: int = 2**14
    epochs: int = 6
    batch: int = 32
    lr: float = 0.05
    l2: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dim < 16 or self.epochs < 1 or self.batch < 1:
            raise ConfigError("a reward fit needs dim >= 16, epochs >= 1 and batch >= 1")
        if not (self.lr > 0 and self.l2 >= 0):
            raise ConfigError(f"lr must be > 0 and l2 >= 0, got lr={self.lr}, l2={self.l2}")

    def to_json(self) -> dict[str, JSON]:
        return {
            "dim": self.dim,
            "epochs": self.epochs,
            "batch": self.batch,
            "lr": self.lr,
            "l2": self.l2,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class NoiseRates:
    """A judge's asymmetric flip rates on anchor pairs (the module docstring): ε₊ with the
    pairs whose better response is on the positive side, ε₋ with the others."""

    eps_plus: Estimate
    eps_minus: Estimate
    orientation: Orientation
    n_plus: int
    n_minus: int

    def to_json(self) -> dict[str, JSON]:
        return {
            "orientation": self.orientation,
            "eps_plus": dict(self.eps_plus.to_json()),
            "eps_minus": dict(self.eps_minus.to_json()),
            "n_plus": self.n_plus,
            "n_minus": self.n_minus,
        }


@dataclass(frozen=True, slots=True)
class Observation:
    """One showing as the fit sees it: the prompt, the positive-side response `a`, the other
    `b`, and z̃, the judge's vote for `a` (1, 0, or ½ for a tie)."""

    prompt: str
    a: str
    b: str
    vote: float
    pair: int
    """The index of the judged pair it comes from (curriculum stages keep a pair together)."""


def observations(judged: Sequence[JudgedPair], orientation: Orientation) -> list[Observation]:
    """Every showing of every judged pair, oriented."""
    out = []
    for k, j in enumerate(judged):
        p = j.pair
        for s in j.shown:
            a_positive = p.longer_is_a if orientation == "longer" else s.a_first
            first, second = (p.a, p.b) if a_positive else (p.b, p.a)
            vote = s.for_a if a_positive else 1.0 - s.for_a
            out.append(Observation(p.prompt, first.text, second.text, vote, k))
    return out


def estimate_noise(
    anchors: Sequence[JudgedPair], orientation: Orientation = "longer"
) -> NoiseRates:
    """ε₊ and ε₋ of the judge whose showings the anchors hold (pairs with an expert `gold` of a
    or b; ties and pairs without gold are skipped), each with a Wilson interval over anchor
    pairs: a pair's showings on one side give one unit whose flip share is counted (a tie
    answer is half a flip)."""
    units: dict[tuple[int, bool], list[float]] = {}
    for k, j in enumerate(anchors):
        gold = j.pair.gold
        if gold not in ("a", "b"):
            continue
        for obs in observations([j], orientation):
            a_better = (gold == "a") == (obs.a == j.pair.a.text)
            flip = 1.0 - obs.vote if a_better else obs.vote
            units.setdefault((k, a_better), []).append(flip)
    plus = [sum(v) / len(v) for (_, side), v in units.items() if side]
    minus = [sum(v) / len(v) for (_, side), v in units.items() if not side]
    if not plus or not minus:
        raise InputError(
            f"the anchors hold {len(plus)} pairs whose better response is on the {orientation} "
            f"side and {len(minus)} with it on the other: the flip rates need both; add "
            "expert-labelled pairs of the missing kind"
        )
    return NoiseRates(
        wilson(sum(plus), len(plus)),
        wilson(sum(minus), len(minus)),
        orientation,
        len(plus),
        len(minus),
    )


# -- features ---------------------------------------------------------------------------------
def _hashed(tokens: Sequence[str], dim: int) -> dict[int, float]:
    """Signed hashed counts of the 1- and 2-grams of `tokens` (Weinberger et al. 2009)."""
    out: dict[int, float] = {}
    grams = [*tokens, *(f"{x}\x00{y}" for x, y in pairwise(tokens))]
    for g in grams:
        h = zlib.crc32(g.encode())
        col = h % dim
        out[col] = out.get(col, 0.0) + (1.0 if h & 0x80000000 else -1.0)
    return out


def features(prompts: Sequence[str], completions: Sequence[str], dim: int) -> sparse.csr_matrix:
    """f(x, y) for each prompt and completion: hashed n-gram counts / √(tokens + 1) in the first
    dim − 2 columns, then ln(1 + tokens) and the share of tokens found in the prompt."""
    if len(prompts) != len(completions):
        raise InputError(f"{len(prompts)} prompts for {len(completions)} completions")
    hashed = dim - len(_DENSE)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, (x, y) in enumerate(zip(prompts, completions, strict=True)):
        toks = tokenize(y)
        scale = 1.0 / math.sqrt(len(toks) + 1)
        for col, v in _hashed(toks, hashed).items():
            rows.append(i)
            cols.append(col)
            vals.append(v * scale)
        seen = set(tokenize(x))
        overlap = sum(t in seen for t in toks) / len(toks) if toks else 0.0
        rows += [i, i]
        cols += [hashed, hashed + 1]
        vals += [math.log1p(len(toks)), overlap]
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(completions), dim), dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class RewardModel:
    """r_φ(x, y) = φ · f(x, y): weights over `features` of dimension len(weights)."""

    weights: Floats

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        """The reward of each completion to its prompt (a reward function for a policy trainer)."""
        if not completions:
            return []
        out: Floats = features(prompts, completions, len(self.weights)) @ self.weights
        return [float(v) for v in out]

    def to_bytes(self) -> bytes:
        """The saved form: a JSON header line (format, dimension), then the weights as
        little-endian float64."""
        head = canonical({"format": FORMAT, "dim": len(self.weights), "dense": list(_DENSE)})
        return head + b"\n" + self.weights.astype("<f8").tobytes()

    @property
    def digest(self) -> Digest:
        """SHA-256 of the saved bytes: what the fit's run entry records."""
        return Digest(hashlib.sha256(self.to_bytes()).hexdigest())

    def save(self, path: Path, *, force: bool = False) -> Digest:
        """Write the saved form to `path` (an existing file only with `force`); its digest."""
        data = self.to_bytes()
        write_file(path, data, force=force)
        return Digest(hashlib.sha256(data).hexdigest())


def load_reward_model(path: Path) -> RewardModel:
    """A reward model saved by `RewardModel.save`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read reward model {path}: {exc.strerror}") from exc
    head, sep, body = data.partition(b"\n")
    try:
        meta = orjson.loads(head) if sep else None
    except orjson.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a keel reward model ({FORMAT}): save one with `fit`")
    dim = meta.get("dim")
    if not isinstance(dim, int) or len(body) != 8 * dim:
        raise InputError(f"{path}: the weights are cut short or padded; save the model again")
    return RewardModel(np.frombuffer(body, dtype="<f8").astype(np.float64))


# -- fitting ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RewardFit:
    """A fitted reward model and how it was fitted: the method, settings, the flip rates it
    corrected for (noise-corrected fits), whether a curriculum set the order, the mean loss
    of each pass (stage by epoch; `schedule`)."""

    model: RewardModel
    method: Method
    config: FitConfig
    orientation: Orientation
    noise: NoiseRates | None = None
    curriculum: bool = False
    losses: tuple[float, ...] = field(default=())

    def run_config(self) -> dict[str, JSON]:
        """The settings a run entry records."""
        out: dict[str, JSON] = {
            "fit": self.method,
            "orientation": self.orientation,
            "order": "curriculum" if self.curriculum else "shuffled",
            **self.config.to_json(),
        }
        if self.noise is not None:
            out["noise"] = self.noise.to_json()
        return out


def schedule(
    stages: Sequence[Sequence[int]], *, epochs: int, batch: int, seed: int
) -> list[list[npt.NDArray[np.int64]]]:
    """The passes of a fit, each a list of mini-batches, items shuffled within a pass.

    One stage (a shuffled fit): `epochs` passes over it. Several stages (a curriculum, easy
    first): "baby steps" (Bengio et al. 2009, ICML; Spitkovsky et al. 2010, NAACL), stage k
    trains on stages 1..k together, so what was learnt early stays in the data and no item of
    a later stage comes before its stage. Each of the S stages gets max(1, round(2·epochs/(S
    + 1))) passes, so that the curriculum sees about as many items as the shuffled fit."""
    rng = np.random.default_rng(seed)
    per_stage = epochs if len(stages) == 1 else max(1, round(2 * epochs / (len(stages) + 1)))
    out = []
    for k in range(len(stages)):
        items = np.asarray([i for stage in stages[: k + 1] for i in stage], dtype=np.int64)
        for _ in range(per_stage):
            order = items[rng.permutation(len(items))]
            out.append([order[j : j + batch] for j in range(0, len(order), batch)])
    return out


def fit_bradley_terry(
    judged: Sequence[JudgedPair],
    config: FitConfig = FitConfig(),
    *,
    stages: Sequence[Sequence[int]] | None = None,
    orientation: Orientation = "longer",
    on_batch: Callable[[int, int], None] | None = None,
) -> RewardFit:
    """Bradley–Terry on the judge's showings (the module docstring). `stages`: indices of
    `judged`, easy to hard (`keel.rlaif.curriculum`); None shuffles everything."""
    obs = observations(judged, orientation)
    weights, losses = _fit(obs, 0.0, 0.0, config, stages, on_batch)
    return RewardFit(
        RewardModel(weights), "bradley-terry", config, orientation, None, stages is not None, losses
    )


def fit_noise_corrected(
    judged: Sequence[JudgedPair],
    noise: NoiseRates,
    config: FitConfig = FitConfig(),
    *,
    stages: Sequence[Sequence[int]] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> RewardFit:
    """The fit that maximises P(z̃ = 1) = (1 − ε₊)σ(Δ) + ε₋σ(−Δ) with the point estimates of
    `noise` (the module docstring), oriented as `noise` was measured."""
    plus, minus = noise.eps_plus.value, noise.eps_minus.value
    if not plus + minus < 1:
        raise ConfigError(
            f"the judge's flip rates ε₊ {plus:.2f} + ε₋ {minus:.2f} reach 1: on the anchors it is "
            "no better than chance, and no correction can recover a preference from it"
        )
    obs = observations(judged, noise.orientation)
    weights, losses = _fit(obs, plus, minus, config, stages, on_batch)
    return RewardFit(
        RewardModel(weights),
        "noise-corrected",
        config,
        noise.orientation,
        noise,
        stages is not None,
        losses,
    )


def _fit(
    obs: Sequence[Observation],
    plus: float,
    minus: float,
    config: FitConfig,
    stages: Sequence[Sequence[int]] | None,
    on_batch: Callable[[int, int], None] | None,
) -> tuple[Floats, tuple[float, ...]]:
    """Mini-batch Adam on the mean negative log-likelihood + (l2/2)·‖φ‖²."""
    if not obs:
        raise InputError("no judged pairs to fit a reward model to")
    prompts = [o.prompt for o in obs]
    diff = (
        features(prompts, [o.a for o in obs], config.dim)
        - features(prompts, [o.b for o in obs], config.dim)
    ).tocsr()
    votes = np.array([o.vote for o in obs])
    by_pair: dict[int, list[int]] = {}
    for i, o in enumerate(obs):
        by_pair.setdefault(o.pair, []).append(i)
    if stages is None:
        obs_stages = [list(range(len(obs)))]
    else:
        obs_stages = [[i for k in stage for i in by_pair.get(k, [])] for stage in stages]
    passes = schedule(obs_stages, epochs=config.epochs, batch=config.batch, seed=config.seed)
    total = sum(len(p) for p in passes)
    w = np.zeros(config.dim)
    m, v = np.zeros(config.dim), np.zeros(config.dim)
    b1, b2, eps = 0.9, 0.999, 1e-8
    losses: list[float] = []
    t = 0
    for batches in passes:
        loss_sum, count = 0.0, 0
        for idx in batches:
            t += 1
            d = diff[idx]
            loss, grad_delta = _nll(d @ w, votes[idx], plus, minus)
            grad = d.T @ grad_delta / len(idx) + config.l2 * w
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            w = w - config.lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
            loss_sum += loss
            count += len(idx)
            if on_batch is not None:
                on_batch(t, total)
        losses.append(loss_sum / max(count, 1))
    return w, tuple(losses)


def _nll(delta: Floats, votes: Floats, plus: float, minus: float) -> tuple[float, Floats]:
    """Σ −[z̃ ln p + (1 − z̃) ln(1 − p)], p = ε₋ + (1 − ε₊ − ε₋)σ(Δ), and d/dΔ of each term."""
    s = 1.0 / (1.0 + np.exp(-np.clip(delta, -40, 40)))
    keep = 1.0 - plus - minus
    p = np.clip(minus + keep * s, 1e-12, 1 - 1e-12)
    loss = float(-(votes * np.log(p) + (1 - votes) * np.log1p(-p)).sum())
    grad: Floats = -(votes / p - (1 - votes) / (1 - p)) * keep * s * (1 - s)
    return loss, grad


# -- evaluation and the ledger ------------------------------------------------------------------
def ranked_right(model: RewardModel, pairs: Sequence[Pair]) -> Floats:
    """For each expert-labelled pair (gold a or b; others are skipped): 1 when the model ranks
    it as the expert did, 0 when not, ½ on a tie of rewards."""
    graded = [p for p in pairs if p.gold in ("a", "b")]
    if not graded:
        raise InputError("no expert-labelled pairs (gold a or b) to measure accuracy on")
    prompts = [p.prompt for p in graded]
    ra = np.array(model.score(prompts, [p.a.text for p in graded]))
    rb = np.array(model.score(prompts, [p.b.text for p in graded]))
    margin = np.where(np.array([p.gold == "a" for p in graded]), 1.0, -1.0) * (ra - rb)
    right: Floats = np.where(margin > 0, 1.0, np.where(margin == 0, 0.5, 0.0))
    return right


def heldout_accuracy(model: RewardModel, pairs: Sequence[Pair]) -> Estimate:
    """The share of expert-labelled pairs that the model ranks as the expert did
    (`ranked_right`), with a Wilson interval."""
    right = ranked_right(model, pairs)
    return wilson(float(right.sum()), len(right))


def log_fit(
    ledger: Ledger,
    fit: RewardFit,
    judged: Sequence[JudgedPair],
    *,
    anchors: Sequence[JudgedPair] = (),
    accuracy: Estimate | None = None,
) -> EntryId:
    """Append the fit as a run: a mix of the preference entries it was fitted to, the run on it
    (model `reward-model/<method>`, the config, the weights' digest) and, for a corrected fit,
    a mix of the anchors' expert preferences that the run uses. Returns the run's id."""
    prefs = sorted({i for j in judged for i in j.entries})
    if not prefs:
        raise InputError("the judged pairs carry no preference entries: log them first")
    pairs_mix, pairs_bytes = mix(prefs, {"purpose": "reward-model pairs", "fit": fit.method})
    items: list[tuple[Entry, bytes | None]] = [(pairs_mix, pairs_bytes)]
    uses: list[EntryId] = []
    gold = sorted({i for j in anchors for i in (*j.pair.gold_entries, *j.entries)})
    if gold:
        anchor_mix, anchor_bytes = mix(gold, {"purpose": "reward-model anchors"})
        items.append((anchor_mix, anchor_bytes))
        uses.append(_id(anchor_mix))
    config = fit.run_config()
    if accuracy is not None:
        config["heldout_accuracy"] = dict(accuracy.to_json())
    run = Run(
        mix=_id(pairs_mix),
        model=f"reward-model/{fit.method}",
        config=config,
        artifact_sha256=fit.model.digest,
        uses=tuple(uses),
    )
    done = ledger.append([*items, (run, None)])
    return done[-1].id


def _id(entry: Entry) -> EntryId:
    return entry_id(entry_bytes(entry))


@dataclass(frozen=True, slots=True)
class LedgerFit:
    """A fit on the ledger's preferences, logged: the run, the fit, its held-out accuracy, and
    how many pairs trained it, estimated its noise (anchors) and measured it (held out)."""

    run: EntryId
    fit: RewardFit
    accuracy: Estimate
    judge: str
    trained: int
    anchors: int
    heldout: int

    def to_json(self) -> dict[str, JSON]:
        return {
            "run": self.run,
            "judge": self.judge,
            "model": f"reward-model/{self.fit.method}",
            "digest": self.fit.model.digest,
            "config": self.fit.run_config(),
            "accuracy": dict(self.accuracy.to_json()),
            "pairs": {"trained": self.trained, "anchors": self.anchors, "heldout": self.heldout},
        }


def fit_from_ledger(
    ledger: Ledger,
    *,
    judge: str | None = None,
    corrected: bool = False,
    config: FitConfig = FitConfig(),
    orientation: Orientation = "longer",
    stages: int | None = None,
    heldout_share: float = 0.5,
    on_batch: Callable[[int, int], None] | None = None,
) -> LedgerFit:
    """Fit a reward model to one AI judge's logged preferences and log the run.

    The judge's pairs that an expert labelled are split at random (seeded by `config.seed`):
    `heldout_share` of them measure held-out accuracy and are never trained on; the rest are
    the anchors that a corrected fit estimates the flip rates from, and train like any pair.
    `stages`: order the training pairs easy to hard in that many stages
    (`keel.rlaif.curriculum`, the other judges' showings counted)."""
    from keel.rlaif.curriculum import curriculum
    from keel.rlaif.pairs import load_preferences, with_gold

    if not 0 < heldout_share < 1:
        raise ConfigError(f"the held-out share must be in (0, 1), got {heldout_share}")
    every = with_gold(load_preferences(ledger))
    judges = sorted({j.judge for j in every})
    if judge is None:
        if len(judges) != 1:
            raise InputError(
                f"the ledger holds preferences of {len(judges)} AI judges "
                f"({', '.join(judges) or 'none'}): name one with --judge"
            )
        judge = judges[0]
    mine = [j for j in every if j.judge == judge]
    if not mine:
        raise InputError(f"no preferences of AI judge {judge!r}; judges: {', '.join(judges)}")
    labelled = [k for k, j in enumerate(mine) if j.pair.gold in ("a", "b")]
    rng = np.random.default_rng(config.seed)
    held = set(rng.permutation(labelled)[: round(heldout_share * len(labelled))].tolist())
    if not held or len(held) == len(labelled):
        raise InputError(
            f"{len(labelled)} of judge {judge}'s pairs have an expert label: too few to hold "
            "some out and keep some as anchors; add expert preferences (kind expert)"
        )
    train = [j for k, j in enumerate(mine) if k not in held]
    anchors = [j for k, j in enumerate(mine) if k in labelled and k not in held]
    heldout = [mine[k].pair for k in sorted(held)]
    plan = None
    if stages is not None:
        others = [j for j in every if j.judge != judge]
        plan = curriculum(train, others, stages=stages).stages
    if corrected:
        noise = estimate_noise(anchors, orientation)
        fit = fit_noise_corrected(train, noise, config, stages=plan, on_batch=on_batch)
    else:
        fit = fit_bradley_terry(
            train, config, stages=plan, orientation=orientation, on_batch=on_batch
        )
    accuracy = heldout_accuracy(fit.model, heldout)
    used_anchors = anchors if corrected else []
    run = log_fit(ledger, fit, train, anchors=used_anchors, accuracy=accuracy)
    return LedgerFit(run, fit, accuracy, judge, len(train), len(anchors), len(heldout))
