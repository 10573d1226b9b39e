"""Building the next training set from the ledger, and logging it as a mix entry.

The steps, in order (docs/mixing.md has the formulas and sources):
1. verified pool: records of origin human or expert, and records an expert adopted; an expert
   reject overrides the origin (a rejected human record is not verified);
2. synthetic pool: synthetic records of the policy's generation with no expert decision;
3. lineage: records descending from a degenerate record are dropped from both pools;
4. gate: the synthetic pool is filtered by the rule chosen on the expert anchors (corrected;
   anchors weighted by 1/π, `keel.mix.anchors`), by a judge majority, or not at all;
5. near-duplicates: MinHash over both pools together, in log order, earliest kept;
6. budget: n_syn = min(accepted, size − ⌈α·size⌉), n_ver = min(verified, size − n_syn); when
   the verified pool is short of the floor, n_syn shrinks to ⌊n_ver·(1−α)/α⌋ so that the
   verified share never drops below α; verified members are drawn uniformly, synthetic ones
   with tail-preserving weights.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from keel.errors import InputError, NotFoundError
from keel.experts import reputation_of, votes
from keel.judges import Rule, choose_rule
from keel.ledger import Appended, Judged, Ledger, Snapshot, texts
from keel.mix.anchors import Anchors, anchors, standing
from keel.mix.dedup import dedup
from keel.mix.lineage import tainted
from keel.mix.policy import MixPolicy
from keel.mix.tails import rare_types, tail_weights, weighted_sample
from keel.records import JSON, EntryId, Mix, Record, mix, parse_member_list
from keel.scale import Executor

Reason = Literal["verified-human", "expert-adopted", "gate"]


@dataclass(frozen=True, slots=True)
class Member:
    """A record of the mix and why it is in: verified human data, adopted by an expert, or
    accepted by the gate."""

    id: EntryId
    reason: Reason


@dataclass(frozen=True, slots=True)
class MixPlan:
    """The members chosen, the counts of each rule, the acceptance rule, and the policy."""

    policy: MixPolicy
    members: tuple[Member, ...]
    counts: Mapping[str, int]
    rule: Rule | None
    note: str

    @property
    def floor_met(self) -> bool:
        """True when the verified share reaches alpha with the full size asked for."""
        return self.counts["members_verified"] >= verified_floor(
            self.policy.alpha, self.policy.size
        )

    @property
    def trains(self) -> int | None:
        """The generation this mix trains: the one after the synthetic generation drawn from."""
        g = self.policy.generation
        return None if g is None else g + 1

    def entry_policy(self) -> dict[str, JSON]:
        """What the mix entry logs as its policy: the settings, the rule chosen, the counts."""
        return {
            **self.policy.to_json(),
            "rule": None if self.rule is None else self.rule.describe(),
            "rule_lower_bound": None if self.rule is None else self.rule.lower_bound,
            "counts": dict(self.counts),
            "note": self.note,
        }

    def to_json(self) -> dict[str, JSON]:
        return {
            "policy": self.entry_policy(),
            "floor_met": self.floor_met,
            "trains": self.trains,
            "members": [{"id": m.id, "reason": m.reason} for m in self.members],
        }


def _reputation(ledger: Ledger, snap: Snapshot) -> dict[str, float]:
    """Reviewers' reputation weights, read only when some record has more than one reviewer
    (they decide nothing otherwise)."""
    if not any(len({v.judge for v in j.expert}) > 1 for j in snap.records):
        return {}
    try:
        return {r.reviewer: r.weight for r in reputation_of(ledger).reviewers}
    except NotFoundError:
        return {}


def _gate(
    snap: Snapshot, found: Anchors, pool: Sequence[Judged], policy: MixPolicy
) -> tuple[list[bool], Rule | None, str]:
    """Which pool records the gate accepts, the rule used and a note on how it was chosen."""
    if policy.gate == "none":
        return [True] * len(pool), None, "no gate: every synthetic record is a candidate"
    anchors = found.judged
    judges = snap.judges([*anchors, *pool])
    pool_v, pool_s = votes(pool, judges)
    if policy.gate == "judges":
        with np.errstate(invalid="ignore"):
            share = np.nanmean(pool_v, axis=0) if judges else np.zeros(len(pool))
        keep: list[bool] = (np.nan_to_num(share) >= 0.5).tolist()
        return keep, None, "uncorrected gate: most AI judges accept"
    if not judges or not anchors:
        why = "no AI verdicts" if not judges else "no expert anchors with AI verdicts"
        return [False] * len(pool), None, f"gate closed: {why} to choose a rule on"
    anchor_v, anchor_s = votes(anchors, judges)
    best, _ = choose_rule(
        judges,
        found.labels(),
        anchor_v,
        pool_v,
        target_precision=policy.target_precision,
        anchor_scores=anchor_s,
        pool_scores=pool_s,
        alpha=1 - policy.confidence,
        anchor_weights=found.weight_array() if policy.anchors == "weighted" else None,
    )
    if best is None:
        return (
            [False] * len(pool),
            None,
            (
                f"gate closed: no rule reaches precision {policy.target_precision:g} at "
                f"{policy.confidence:g} confidence on {len(anchors)} anchors"
            ),
        )
    return (
        [bool(k) for k in best.keeps(judges, pool_v, pool_s)],
        best,
        (
            f"corrected gate: {best.describe()} (precision lower bound {best.lower_bound:.3f} "
            f"on {best.kept_anchors} kept of {len(anchors)} anchors)"
        ),
    )


def build_mix(
    ledger: Ledger,
    policy: MixPolicy,
    *,
    flagged: Collection[EntryId] = (),
    snapshot: Snapshot | None = None,
    executor: Executor | None = None,
) -> MixPlan:
    """Choose the next training set from the ledger by `policy` (the module docstring's steps);
    `flagged` names records a policy outside the ledger declares degenerate; `snapshot`, an
    earlier snapshot of the ledger, saves reading the entries it already holds; `executor`
    (`keel.scale`) computes the near-duplicate signatures (the same plan on any executor)."""
    snap = Snapshot.load(ledger, snapshot)
    bad = tainted(snap, flagged) if policy.lineage else frozenset[EntryId]()
    counts: Counter[str] = Counter(records=len(snap.records))
    verified: list[Judged] = []
    pool: list[Judged] = []
    reviewed: list[Judged] = []
    g = policy.generation
    rep = _reputation(ledger, snap)
    population = 0
    for j in snap.records:
        in_generation = g is None or j.record.generation == g
        synthetic = j.record.origin == "synthetic"
        adopted = standing(j, rep)
        population += synthetic and in_generation
        if synthetic and in_generation and adopted is not None and j.ai:
            reviewed.append(j)
        if j.id in bad:
            counts["lineage_pruned"] += 1
        elif adopted is False:
            counts["expert_rejected"] += 1
        elif not synthetic or adopted:
            if policy.human == "fresh" and j.record.generation != g:
                counts["verified_not_fresh"] += 1
            else:
                verified.append(j)
        elif in_generation:
            pool.append(j)
        else:
            counts["synthetic_other_generation"] += 1
    found = anchors(
        ledger,
        reviewed,
        population,
        weighted=policy.anchors == "weighted",
        everything=policy.anchors == "all",
        reputation=rep,
    )
    counts["anchors"] = len(found.judged)
    counts["synthetic_pool"] = len(pool)
    accept, rule, note = _gate(snap, found, pool, policy)
    accepted = [j for j, a in zip(pool, accept, strict=True) if a]
    counts["gate_accepted"] = len(accepted)
    counts["gate_rejected"] = len(pool) - len(accepted)

    candidates = sorted([*verified, *accepted], key=lambda j: j.index)
    text = texts(ledger, candidates)
    counts["redacted"] = sum(t is None for t in text)
    live = [(j, t) for j, t in zip(candidates, text, strict=True) if t is not None]
    if policy.dedup is not None and live:
        keeper = dedup([t for _, t in live], policy.dedup, executor=executor)
        counts["near_duplicate"] = sum(k != i for i, k in enumerate(keeper))
        live = [x for i, x in enumerate(live) if keeper[i] == i]
    is_verified = {j.id for j in verified}
    ver = [(j, t) for j, t in live if j.id in is_verified]
    syn = [(j, t) for j, t in live if j.id not in is_verified]
    counts["verified"] = len(ver)

    n_syn, n_ver = split_budget(policy.alpha, policy.size, len(ver), len(syn))
    rng = np.random.default_rng(policy.seed)
    ver_pick = np.sort(rng.choice(len(ver), n_ver, replace=False))
    if policy.tails is not None:
        human = (t for j, t in ver if j.record.origin != "synthetic")
        rare = rare_types(human, policy.tails.tail_mass)
        weights = tail_weights([t for _, t in syn], rare, policy.tails.boost)
        counts["rare_types"] = len(rare)
    else:
        weights = np.ones(len(syn))
    syn_pick = weighted_sample(weights, n_syn, policy.seed + 1)
    counts["over_budget_verified"] = len(ver) - n_ver
    counts["over_budget_synthetic"] = len(syn) - n_syn

    members = [Member(ver[i][0].id, _verified_reason(ver[i][0])) for i in ver_pick]
    members += [Member(syn[i][0].id, "gate") for i in syn_pick]
    members.sort(key=lambda m: snap.by_id[m.id])
    counts["members"] = len(members)
    counts["members_verified"] = n_ver
    counts["members_synthetic"] = n_syn
    return MixPlan(policy, tuple(members), dict(sorted(counts.items())), rule, note)


def _verified_reason(j: Judged) -> Reason:
    return "expert-adopted" if j.record.origin == "synthetic" else "verified-human"


def split_budget(alpha: float, size: int, n_verified: int, n_synthetic: int) -> tuple[int, int]:
    """(synthetic, verified) member counts: the floor ⌈α·size⌉ first; when the verified pool is
    short of it, fewer synthetic members so that the verified share stays ≥ α."""
    a = _exact(alpha)
    n_syn = min(n_synthetic, size - verified_floor(alpha, size))
    n_ver = min(n_verified, size - n_syn)
    if a > 0 and n_ver < a * (n_ver + n_syn):
        n_syn = min(n_syn, math.floor(n_ver * (1 - a) / a))
    return n_syn, n_ver


def verified_floor(alpha: float, size: int) -> int:
    """⌈α·size⌉, with α read as the decimal written (0.2·15 is exactly 3)."""
    return math.ceil(_exact(alpha) * size)


def _exact(alpha: float) -> Fraction:
    return Fraction(repr(alpha))


def log_mix(ledger: Ledger, plan: MixPlan, also: Mapping[str, JSON] | None = None) -> Appended:
    """Append the mix entry: the member ids as its payload, the policy, rule and counts in it,
    and `also`, what the caller applied besides the policy (the loop's `min_anchors`)."""
    policy = {**plan.entry_policy(), **(also or {})}
    entry, data = mix([m.id for m in plan.members], policy, generation=plan.trains)
    return ledger.append([(entry, data)])[0]


@dataclass(frozen=True, slots=True)
class LoggedMix:
    """A mix entry read back: its id and index, the entry, and its members with their records."""

    id: EntryId
    index: int
    entry: Mix
    members: tuple[Judged, ...]


def read_mix(ledger: Ledger, ref: str) -> LoggedMix:
    """The mix entry named by `ref` (id, prefix or external id) and its member records."""
    loc = ledger.locate(ref)
    if not isinstance(loc.entry, Mix):
        raise InputError(f"{ref} is a {loc.entry.kind}, not a mix")
    ids = parse_member_list(ledger.payload(loc.entry.members.sha256))
    members = []
    for i in ids:
        m = ledger.locate(i)
        if not isinstance(m.entry, Record):
            raise InputError(f"mix {loc.id} lists {i}, a {m.entry.kind}, as a member")
        members.append(Judged(m.id, m.index, m.entry))
    return LoggedMix(loc.id, loc.index, loc.entry, tuple(sorted(members, key=lambda j: j.index)))
