"""Issue 16: one score type. :class:`BenchmarkScore` holds only what JSON carries, and the wire refuses what
it does not know."""
import json

import numpy as np
import pytest
from pydantic import ValidationError

from cortexscore.benchmarks import synthetic
from cortexscore.benchmarks.scoring import ceiled_result
from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef
from cortexscore.jobs import CompleteRequest
from cortexscore.score import BenchmarkScore, Score, ScoreNumbers

NUMBERS = ("raw", "error", "ceiling", "ceiling_error", "ceiled")


def synthetic_spec() -> BenchmarkSpec:
    refs = {name: DataRef(identifier=identifier, version=1, files={}) for name, identifier in
            (("stimulus_set", synthetic.STIMULUS_SET_IDENTIFIER), ("assembly", synthetic.ASSEMBLY_IDENTIFIER))}
    return BenchmarkSpec(**refs, **synthetic.benchmark_fields())


def scored() -> BenchmarkScore:
    """What a procedure returns: numpy numbers, a ceiling without an error, per-split values with a NaN."""
    raw = Score(value=np.float64(0.4), error=np.float32(0.05), per_split=np.array([0.3, 0.5, np.nan]))
    return ceiled_result(synthetic_spec(), raw, Score(value=0.8), "relu2",
                         layer_scores={"relu1": np.float32(0.25), "relu2": np.inf}, splits=np.int64(3))


def test_a_score_holds_plain_numbers_and_null_for_nan():
    score = scored()
    assert score.ceiling_error is None  # the ceiling had no error (NaN)
    assert [type(getattr(score, name)) for name in ("raw", "error", "ceiling", "ceiled")] == [float] * 4
    assert score.provenance["per_split"] == [0.3, 0.5, None]
    assert score.provenance["layer_scores"] == {"relu1": 0.25, "relu2": None}
    assert type(score.provenance["splits"]) is int
    assert score.provenance["region_layer_map"] == {"IT": "relu2"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float32("nan"), np.float64("inf"),
                                   "nan", "-inf"])
def test_every_non_finite_number_becomes_null(value):
    assert BenchmarkScore(**{name: value for name in NUMBERS}).model_dump(include=set(NUMBERS)) == \
        dict.fromkeys(NUMBERS)


def test_a_nan_that_reaches_the_api_in_json_is_stored_as_null():
    # Python's json (and so a scorer that does not use the model) writes NaN and Infinity.
    body = json.dumps({"lease_token": "t", "score": {"raw": float("nan"), "ceiled": float("inf")}})
    assert CompleteRequest.model_validate_json(body).score.model_dump(include={"raw", "ceiled"}) == \
        {"raw": None, "ceiled": None}


def test_a_score_is_the_same_after_the_wire():
    score = scored()
    text = CompleteRequest(lease_token="t", score=score).model_dump_json()
    assert "NaN" not in text and "Infinity" not in text
    assert CompleteRequest.model_validate_json(text).score == score
    # The worker posts model_dump(mode="json") through httpx, whose encoder would write NaN: there is none.
    json.dumps(CompleteRequest(lease_token="t", score=score).model_dump(mode="json"), allow_nan=False)


def test_the_wire_refuses_fields_it_does_not_know():
    body = {"lease_token": "t", "score": {**scored().model_dump(mode="json"), "ceiled_clipped": 0.5}}
    with pytest.raises(ValidationError, match="ceiled_clipped"):
        CompleteRequest.model_validate(body)
    with pytest.raises(ValidationError):
        BenchmarkScore(raw="not a number")


def test_a_score_is_frozen_and_provenance_is_added_by_copy():
    score = scored()
    with pytest.raises(ValidationError):
        score.ceiled = 2.0
    more = score.with_provenance(worker="w1", sizes=np.array([1, 2]))
    assert more.provenance == {**score.provenance, "worker": "w1", "sizes": [1, 2]}
    assert "worker" not in score.provenance and more.model_dump(exclude={"provenance"}) == \
        score.model_dump(exclude={"provenance"})


def test_the_numbers_are_the_first_fields_of_a_score():
    assert tuple(ScoreNumbers.model_fields) == NUMBERS
    assert tuple(BenchmarkScore.model_fields)[:len(NUMBERS)] == NUMBERS
