"""The "Reading your scores" page: one text, in docs/ and served beside the model page that links to it."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_model_page_links_the_served_copy_of_reading_your_scores():
    source = (ROOT / "docs" / "reading-scores.md").read_text()
    assert (ROOT / "services" / "submission_api" / "leaderboard" / "static" / "reading-scores.md").read_text() == source, \
        "copy docs/reading-scores.md to services/submission_api/leaderboard/static/ after editing it"
    for section in ("## raw, ceiling, ceiled", "## Why ceiled is not raw / ceiling", "## The scale of `error`",
                    "## How the layer was chosen"):
        assert section in source
    template = (ROOT / "services" / "submission_api" / "leaderboard" / "templates" / "model.html").read_text()
    assert "path='reading-scores.md'" in template and "Reading your scores" in template
