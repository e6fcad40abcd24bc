"""The Markdown report of a table to score (kfx.scoring_checks.report_markdown): what it says in each case."""

from kfx.scoring_checks import report_markdown
from kfx.validation import Finding

HEAD = "# Scoring data validation\n\n"


def test_a_version_without_schema_or_statistics_says_nothing_was_checked():
    assert report_markdown([], {}, 0.15, "SERVING", False) == (
        HEAD + "The model version keeps no schema nor training statistics: nothing was checked.\n"
    )


def test_a_clean_table_says_so_and_lists_drift_largest_first():
    assert report_markdown([], {"Area": 0.01234, "Perimeter": 0.5, "Class": 0.2}, 0.3, "TRAINING", True) == (
        HEAD + "Checked against the model's schema in environment TRAINING; drift threshold: 0.3.\n\n"
        "No anomalies found: the table matches the schema and no feature drifted.\n\n"
        "| feature | drift from the training statistics |\n|---|---|\n"
        "| Perimeter | 0.5000 |\n| Class | 0.2000 |\n| Area | 0.0123 |\n"
    )


def test_each_anomaly_is_a_row_whose_description_cannot_break_the_table():
    found = [
        Finding("scoring", "Area", "High approximate Jensen-Shannon divergence", "a | b\nc", "drift"),
        Finding("scoring", "Class", "Unexpected string values", "PINTO"),
    ]
    assert report_markdown(found, {}, 0.15, "SERVING", True) == (
        HEAD + "Checked against the model's schema in environment SERVING; drift threshold: 0.15.\n\n"
        "**2 anomalies found.**\n\n| feature | anomaly | details |\n|---|---|---|\n"
        "| Area | High approximate Jensen-Shannon divergence | a / b c |\n"
        "| Class | Unexpected string values | PINTO |\n"
    )
