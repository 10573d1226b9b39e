"""Judge audit: how far to trust each AI judge against human labels, and how to correct it.

Read a table (`read_judge_table`, `read_pairwise`), audit it (`audit`, `audit_pairwise`),
correct a judge with human anchors (`correction` and its parts), and write the HTML report.
"""

from keel.judges.audit import (
    Audit,
    CalibrationBin,
    CategoryFigures,
    Comparison,
    JudgeProfile,
    audit,
    compare_judges,
    holm,
    kendall_tau_b,
    mcnemar_exact,
    personality,
    subject_rates,
)
from keel.judges.correct import (
    AnchorBudget,
    Correction,
    DawidSkene,
    JudgeCorrection,
    Rule,
    ShareEstimate,
    anchor_budget,
    choose_rule,
    correction,
    dawid_skene,
    ppi_mean,
    rogan_gladen,
)
from keel.judges.pairwise import (
    PairColumns,
    PairProfile,
    audit_pairwise,
    pair_personality,
    read_pairwise,
)
from keel.judges.report import (
    audit_report,
    pairwise_report,
    write_audit_report,
    write_pairwise_report,
)
from keel.judges.stats import Estimate, bootstrap, wilson
from keel.judges.table import Columns, JudgeTable, Layout, parse_labels, read_judge_table

__all__ = [
    "AnchorBudget",
    "Audit",
    "CalibrationBin",
    "CategoryFigures",
    "Columns",
    "Comparison",
    "Correction",
    "DawidSkene",
    "Estimate",
    "JudgeCorrection",
    "JudgeProfile",
    "JudgeTable",
    "Layout",
    "PairColumns",
    "PairProfile",
    "Rule",
    "ShareEstimate",
    "anchor_budget",
    "audit",
    "audit_pairwise",
    "audit_report",
    "bootstrap",
    "choose_rule",
    "compare_judges",
    "correction",
    "dawid_skene",
    "holm",
    "kendall_tau_b",
    "mcnemar_exact",
    "pair_personality",
    "pairwise_report",
    "parse_labels",
    "personality",
    "ppi_mean",
    "read_judge_table",
    "read_pairwise",
    "rogan_gladen",
    "subject_rates",
    "wilson",
    "write_audit_report",
    "write_pairwise_report",
]
