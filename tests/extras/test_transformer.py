"""The [lm] extra: the small transformer generator, trained from scratch on the CPU."""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest

from extra_modules import need
from keel.errors import ConfigError
from keel.models import NGramModel, perplexity
from keel.text import load_fortunes, tokenize

pytestmark = pytest.mark.extra


@pytest.fixture(scope="module")
def lm() -> ModuleType:
    need("torch", "lm")
    return importlib.import_module("keel.models.transformer")


TINY = {"layers": 1, "d_model": 32, "heads": 2, "context": 16, "steps": 20, "batch": 8}


@pytest.fixture(scope="module")
def fortunes() -> list[str]:
    return load_fortunes()[:2000]


@pytest.fixture(scope="module")
def tiny(lm: ModuleType, fortunes: list[str]) -> object:
    return lm.TransformerModel.train(fortunes[:300], lm.TransformerConfig(**TINY), seed=3)


def test_same_texts_config_and_seed_give_the_same_model_and_texts(
    lm: ModuleType, fortunes: list[str], tiny: object
) -> None:
    again = lm.TransformerModel.train(fortunes[:300], lm.TransformerConfig(**TINY), seed=3)
    other = lm.TransformerModel.train(fortunes[:300], lm.TransformerConfig(**TINY), seed=4)
    assert again.digest() == tiny.digest()  # type: ignore[attr-defined]
    assert other.digest() != tiny.digest()  # type: ignore[attr-defined]
    texts = again.generate(20, seed=7)
    assert texts == tiny.generate(20, seed=7)  # type: ignore[attr-defined]
    assert texts != tiny.generate(20, seed=8)  # type: ignore[attr-defined]
    assert len(texts) == 20 and all(isinstance(t, str) for t in texts)


def test_training_restores_threads_and_reports_progress(lm: ModuleType) -> None:
    torch = need("torch", "lm")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    seen: list[tuple[int, int]] = []
    config = lm.TransformerConfig(**{**TINY, "steps": 5, "threads": 2})
    lm.TransformerModel.train(
        ["a b c d", "b c d e"], config, on_step=lambda i, n: seen.append((i, n))
    )
    assert seen == [(i, 5) for i in range(1, 6)]
    assert torch.get_num_threads() == 1
    torch.set_num_threads(before)


def test_prompts_are_continued_and_unknown_prompt_words_kept(tiny: object) -> None:
    prompts = ["the cat", "zzyzx quokka said", ""]
    texts = tiny.generate(3, seed=1, prompts=prompts, max_tokens=5)  # type: ignore[attr-defined]
    for prompt, text in zip(prompts, texts, strict=True):
        toks = tokenize(text)
        assert toks[: len(tokenize(prompt))] == tokenize(prompt)
        assert len(toks) - len(tokenize(prompt)) <= 5
    assert tiny.generate(2, prompts=["a", "b"], max_tokens=0) == ["a", "b"]  # type: ignore[attr-defined]


def test_max_tokens_bounds_every_text_and_outputs_avoid_specials(tiny: object) -> None:
    texts = tiny.generate(200, seed=2, max_tokens=7)  # type: ignore[attr-defined]
    lengths = [len(tokenize(t)) for t in texts]
    assert max(lengths) <= 7
    assert max(lengths) == 7
    assert not any(s in t for t in texts for s in ("<unk>", "<s>", "</s>"))
    long = tiny.generate(20, seed=2, max_tokens=40)  # type: ignore[attr-defined]
    assert max(len(tokenize(t)) for t in long) > 16  # past the context: the window slides


def test_end_of_text_stops_a_text(lm: ModuleType) -> None:
    config = lm.TransformerConfig(**{**TINY, "steps": 150, "min_count": 1}, lr=1e-2)
    model = lm.TransformerModel.train(["yes ."] * 50, config)
    assert model.generate(30, seed=0, max_tokens=20) == ["yes."] * 30
    (lp,) = model.token_log_probs(["yes ."])
    assert lp.shape == (3,) and np.all(lp > np.log(0.9))


@pytest.mark.slow
def test_held_out_perplexity_beats_a_unigram_model(lm: ModuleType, fortunes: list[str]) -> None:
    train, test = fortunes[:1500], fortunes[1500:]
    model = lm.TransformerModel.train(train, lm.TransformerConfig(steps=120))
    lps = model.token_log_probs(test)
    assert [len(x) for x in lps] == [len(tokenize(t)) + 1 for t in test]
    assert all(np.all(x < 0) for x in lps)
    ppl = float(np.exp(-sum(x.sum() for x in lps) / sum(len(x) for x in lps)))
    unigram = NGramModel.train([tokenize(t) for t in train], order=1, vocab=model.vocab)
    assert ppl < 0.5 * perplexity(unigram, [tokenize(t) for t in test])


def test_scores_of_long_texts_slide_and_match_short_ones(tiny: object) -> None:
    short = "the cat sat on the mat ."
    long = " ".join(["the cat sat on the mat ."] * 8)
    lp_short, lp_long = tiny.token_log_probs([short, long])  # type: ignore[attr-defined]
    assert lp_long.shape == (len(tokenize(long)) + 1,)
    assert np.allclose(lp_long[: len(tokenize(short))], lp_short[:-1], atol=1e-5)
    assert np.isfinite(lp_long).all()


def test_bad_settings_and_inputs_say_what_to_fix(lm: ModuleType, tiny: object) -> None:
    with pytest.raises(ConfigError, match="at least one training text"):
        lm.TransformerModel.train([], lm.TransformerConfig(**TINY))
    with pytest.raises(ConfigError, match="multiple of heads"):
        lm.TransformerConfig(d_model=30, heads=4)
    with pytest.raises(ConfigError, match="dropout"):
        lm.TransformerConfig(dropout=1.0)
    with pytest.raises(ConfigError, match="steps must be ≥ 1"):
        lm.TransformerConfig(steps=0)
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        tiny.generate(2, temperature=0.0)  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="1 prompts for 2 texts"):
        tiny.generate(2, prompts=["x"])  # type: ignore[attr-defined]


def test_config_json_names_the_settings(tiny: object) -> None:
    settings = tiny.config_json()  # type: ignore[attr-defined]
    assert settings["generator"] == "transformer"
    assert settings["d_model"] == 32 and settings["seed"] == 3
    assert settings["vocab"] == len(tiny.vocab)  # type: ignore[attr-defined]


def test_missing_torch_raises_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    need("torch", "lm")
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "keel.models.transformer", raising=False)
    with pytest.raises(ConfigError, match=r"needs the \[lm\] extra: pip install 'keel\[lm\]'"):
        importlib.import_module("keel.models.transformer")


def test_importing_keel_models_does_not_import_torch() -> None:
    code = "import sys, keel.models; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
