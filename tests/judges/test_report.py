"""The HTML report: self-contained, with the charts the issue asks for."""

from __future__ import annotations

from pathlib import Path

from judge_tables import synthetic

import pairwise_example
from keel.judges import (
    JudgeTable,
    audit,
    audit_pairwise,
    audit_report,
    pairwise_report,
    read_pairwise,
    write_audit_report,
)


def test_report_is_self_contained_with_charts(tmp_path: Path) -> None:
    a = audit(synthetic(n=200, judges=3), n_resamples=50)
    html = audit_report(a)
    assert html.count("<svg") >= 4  # bias chart + one confusion matrix per judge
    assert "Confirmation vs error detection" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in html
    path = write_audit_report(a, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == html


def test_report_shows_ranking_agreement_between_judges(triviaqa: JudgeTable) -> None:
    html = audit_report(audit(triviaqa, n_resamples=20))
    assert "Ranking agreement (τ-b)" in html and "p (τ)" in html


def test_pairwise_report_has_a_chart_per_figure(tmp_path: Path) -> None:
    rows = read_pairwise([pairwise_example.write(tmp_path / "p.csv")], pairwise_example.FIELDS)
    html = pairwise_report(audit_pairwise(rows, n_resamples=20), source="p.csv")
    assert html.count("<svg") == 5 and "self-preferring" in html
