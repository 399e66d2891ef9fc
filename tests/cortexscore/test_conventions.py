import numpy as np
import pytest

from cortexscore.conventions import CONVENTIONS, ceil_score
from cortexscore.score import Score


@pytest.mark.parametrize("convention, expected", [
    ("r2_over_ceiling", 0.36 / 0.8),
    ("legacy_r_over_ceiling_squared", (0.6 / 0.8) ** 2),
    ("r_over_ceiling", 0.6 / 0.8),
    ("clipped_r_over_ceiling", 0.6 / 0.8),
])
def test_each_convention_formula(convention, expected):
    assert ceil_score(0.6, 0.8, convention).value == pytest.approx(expected, abs=1e-15)


def test_default_is_r2_over_ceiling_and_records_everything():
    raw = Score(0.6, 0.02, np.array([0.58, 0.62]))
    ceiled = ceil_score(raw, Score(0.8, 0.01))
    assert ceiled.value == pytest.approx(0.45)
    assert ceiled.error == 0.02  # Brain-Score keeps the raw score's error on the ceiled score
    assert ceiled.attrs == dict(raw=0.6, ceiling=0.8, raw_error=0.02, ceiling_error=0.01, convention="r2_over_ceiling")


def test_error_consistency_convention_clips():
    assert ceil_score(0.9, 0.8, "clipped_r_over_ceiling").value == 1.0
    assert ceil_score(-0.1, 0.8, "clipped_r_over_ceiling").value == 0.0


def test_unknown_convention_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown ceiling convention 'r2'; choose one of: " + ", ".join(CONVENTIONS)):
        ceil_score(0.5, 0.8, "r2")


@pytest.mark.parametrize("raw, ceiling, message", [(0.5, 0.0, "must be positive"), (np.nan, 0.8, "raw score is nan")])
def test_invalid_numbers(raw, ceiling, message):
    with pytest.raises(ValueError, match=message):
        ceil_score(raw, ceiling)
