"""An `hf` export is a `datasets` folder that TRL trains on as it is: `datasets.load_from_disk`
gives back the exported rows, and `SFTTrainer` takes one step on it with a tiny GPT-2 built
from scratch and a tokenizer trained on the exported texts (nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extra_modules import need
from keel.ledger import Ledger
from keel.mix import export_mix
from keel.records import Producer, mix, text_record

OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "WANDB_DISABLED": "true",
    "WANDB_MODE": "disabled",
}


def mixed_ledger(led: Ledger) -> str:
    """48 human and synthetic records, two redacted, in one mix logged by hand."""
    items = []
    for i in range(48):
        words = f"record {i} says the loop keeps its anchor in verified human text"
        if i % 3:
            items.append(text_record(words, "human", author="ann"))
        else:
            items.append(text_record(words, "synthetic", producer=Producer("toy", "1")))
    ids = [a.id for a in led.append(items)]
    entry, data = mix(ids, {"gate": "none"}, generation=1)
    mix_id = led.append([(entry, data)])[0].id
    led.redact(ids[5], "consent withdrawn")
    led.redact(ids[6], "consent withdrawn")
    return mix_id


@pytest.mark.extra
def test_sft_trainer_takes_a_step_on_an_hf_export(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)
    datasets = need("datasets", "hf")
    need("torch", "rl")
    transformers = need("transformers", "rl")
    trl = need("trl", "rl")
    tokenizers = need("tokenizers", "rl")

    mix_id = mixed_ledger(ledger)
    report = export_mix(ledger, mix_id, tmp_path / "hf", format="hf")
    export_mix(ledger, mix_id, tmp_path / "pq", format="parquet")
    assert (report.facts.members, report.facts.rows, report.facts.redacted) == (48, 46, 2)

    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds.to_list() == pq.read_table(tmp_path / "pq" / "data.parquet").to_pylist()
    assert json.loads((tmp_path / "hf" / "keel-export.json").read_text())["mix"]["id"] == mix_id
    assert (tmp_path / "hf" / "mix.tlog-proof").exists()

    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    special = ["[UNK]", "[PAD]", "[EOS]"]
    tok.train_from_iterator(
        ds["text"], tokenizers.trainers.WordLevelTrainer(special_tokens=special)
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    config = transformers.GPT2Config(
        vocab_size=len(fast),
        n_positions=32,
        n_layer=1,
        n_head=2,
        n_embd=32,
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = transformers.GPT2LMHeadModel(config)
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=1,
        per_device_train_batch_size=4,
        max_length=24,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    sft = trl.SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=fast)
    result = sft.train()
    assert result.global_step == 1
    assert result.training_loss > 0
