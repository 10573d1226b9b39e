"""Recompute a logged reward-model fit's figures from the ledger, without keel.rlaif.

    python tests/rlaif/recompute_reward.py LEDGER.db RUN_ID [--weights FILE]

Reads the run entry, its mix of preference entries and its anchor mix through keel's public
read API (keel.ledger.Ledger), then, with its own tokeniser, feature hashing and plain
numpy/scipy:

- the flip rates ε₊, ε₋ from the anchor pairs (each pair's flip share over its showings, per
  side of the length orientation), to compare with the run's config;
- with --weights, the file's SHA-256 (must be the run's artifact digest) and the held-out
  accuracy of those weights on the expert-labelled pairs the run did not train on, with a
  Wilson interval (must equal the logged figure);
- an independent refit (full-batch L-BFGS on the same likelihood, scipy) and its held-out
  accuracy, which should land near the logged one (a different optimiser: close, not equal).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import re
import sys
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, sparse

from keel.ledger import Ledger
from keel.records import Mix, Preference, Record, Run, parse_member_list

TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,]\d+)*|[^\w\s]|_")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower())


def featurize(prompts: list[str], texts: list[str], dim: int) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    hashed = dim - 2
    for i, (x, y) in enumerate(zip(prompts, texts, strict=True)):
        toks = tokens(y)
        grams = toks + [a + "\x00" + b for a, b in itertools.pairwise(toks)]
        scale = 1 / math.sqrt(len(toks) + 1)
        for g in grams:
            h = zlib.crc32(g.encode())
            rows.append(i)
            cols.append(h % hashed)
            vals.append(scale if h & 0x80000000 else -scale)
        seen = set(tokens(x))
        rows += [i, i]
        cols += [hashed, hashed + 1]
        vals += [math.log1p(len(toks)), sum(t in seen for t in toks) / len(toks) if toks else 0.0]
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), dim))


def wilson(k: float, n: int, z: float = 1.959963984540054) -> dict[str, float]:
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return {"value": p, "lo": max(0.0, min(p, c - h)), "hi": min(1.0, max(p, c + h))}


def main(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("run")
    ap.add_argument("--weights", type=Path)
    args = ap.parse_args(argv)
    led = Ledger.open(args.db, create=False, readonly=True)
    run = led.locate(args.run).entry
    assert isinstance(run, Run)
    cfg = run.config
    dim = int(cfg["dim"])  # type: ignore[arg-type]

    def members(mix_id: str) -> list[str]:
        m = led.locate(mix_id).entry
        assert isinstance(m, Mix)
        return parse_member_list(led.payload(m.members.sha256))

    trained = set(members(run.mix))
    anchor_ids = set(members(run.uses[0])) if run.uses else set()
    prefs = {loc.id: loc.entry for loc in led.entries("preference")}
    text: dict[str, str] = {}

    def txt(rid: str | None) -> str:
        if rid is None:
            return ""
        if rid not in text:
            rec = led.locate(rid).entry
            assert isinstance(rec, Record)
            text[rid] = led.payload(rec.payload.sha256).decode()
        return text[rid]

    judge = {p.judge for i, p in prefs.items() if i in trained and isinstance(p, Preference)}
    assert len(judge) == 1
    (judge_id,) = judge
    # pairs: (prompt, a, b) with a < b by record id; AI showings and expert votes per pair
    shows: dict[tuple[Any, str, str], list[tuple[str, float]]] = {}
    gold: dict[tuple[Any, str, str], list[float]] = {}
    for i, p in prefs.items():
        assert isinstance(p, Preference)
        a, b = sorted((p.first, p.second))
        vote_first = {"first": 1.0, "second": 0.0, "tie": 0.5}[p.choice]
        for_a = vote_first if p.first == a else 1 - vote_first
        key = (p.prompt, a, b)
        if p.judge_kind == "expert":
            gold.setdefault(key, []).append(for_a)
        elif p.judge == judge_id:
            shows.setdefault(key, []).append((i, for_a))

    def gold_side(key: Any) -> str | None:
        votes = gold.get(key)
        if not votes:
            return None
        x = sum(votes) / len(votes)
        return "a" if x > 0.5 else "b" if x < 0.5 else "tie"

    def longer_is_a(key: Any) -> bool:
        return len(txt(key[1])) >= len(txt(key[2]))

    # flip rates from the anchor pairs
    units: dict[bool, list[float]] = {True: [], False: []}
    for key, s in shows.items():
        g = gold_side(key)
        if g not in ("a", "b") or not all(i in anchor_ids for i, _ in s):
            continue
        flips = [1 - v if g == "a" else v for _, v in s]
        units[(g == "a") == longer_is_a(key)].append(sum(flips) / len(flips))
    out: dict[str, Any] = {"judge": judge_id}
    if units[True] and units[False]:
        out["eps_plus"] = wilson(sum(units[True]), len(units[True]))
        out["eps_minus"] = wilson(sum(units[False]), len(units[False]))
    # held-out: labelled pairs of the judge that the run did not train on
    held = [
        k
        for k, s in shows.items()
        if gold_side(k) in ("a", "b") and not any(i in trained for i, _ in s)
    ]
    hp = [txt(k[0]) for k in held]
    ha = featurize(hp, [txt(k[1]) for k in held], dim)
    hb = featurize(hp, [txt(k[2]) for k in held], dim)
    sign = np.array([1.0 if gold_side(k) == "a" else -1.0 for k in held])

    def accuracy(w: np.ndarray) -> dict[str, float]:
        m = sign * ((ha - hb) @ w)
        return wilson(float((m > 0).sum() + 0.5 * (m == 0).sum()), len(held))

    if args.weights is not None:
        data = args.weights.read_bytes()
        out["weights_sha256_ok"] = hashlib.sha256(data).hexdigest() == run.artifact_sha256
        body = data.partition(b"\n")[2]
        out["accuracy_of_weights"] = accuracy(np.frombuffer(body, dtype="<f8"))
    # refit, full batch
    rows = [(k, v) for k, s in shows.items() for i, v in s if i in trained]
    prompts = [txt(k[0]) for k, _ in rows]
    pos = [(k[1], k[2]) if longer_is_a(k) else (k[2], k[1]) for k, _ in rows]
    votes = np.array([v if longer_is_a(k) else 1 - v for k, v in rows])
    diff = (
        featurize(prompts, [txt(a) for a, _ in pos], dim)
        - featurize(prompts, [txt(b) for _, b in pos], dim)
    ).tocsr()
    noise = cfg.get("noise")
    plus = float(noise["eps_plus"]["value"]) if isinstance(noise, dict) else 0.0  # type: ignore[index, arg-type]
    minus = float(noise["eps_minus"]["value"]) if isinstance(noise, dict) else 0.0  # type: ignore[index, arg-type]
    l2 = float(cfg["l2"])  # type: ignore[arg-type]

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        d = diff @ w
        s = 1 / (1 + np.exp(-np.clip(d, -40, 40)))
        p = np.clip(minus + (1 - plus - minus) * s, 1e-12, 1 - 1e-12)
        nll = -(votes * np.log(p) + (1 - votes) * np.log1p(-p))
        g = -(votes / p - (1 - votes) / (1 - p)) * (1 - plus - minus) * s * (1 - s)
        n = len(votes)
        return float(nll.sum() / n + l2 / 2 * w @ w), diff.T @ g / n + l2 * w

    res = optimize.minimize(objective, np.zeros(dim), jac=True, method="L-BFGS-B",
                            options={"maxiter": 300})  # fmt: skip
    out["refit_accuracy"] = accuracy(res.x)
    out["heldout"] = len(held)
    out["trained_pairs"] = len({k for k, _ in rows})
    out["logged_accuracy"] = cfg.get("heldout_accuracy")
    out["logged_noise"] = noise
    return out


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout, indent=2)
    sys.stdout.write("\n")
