"""The upload form: the words 'public' takes, how 'benchmarks' is split, and what 'callback_url' must be."""
import pytest
from pydantic import ValidationError

from submission_api.submissions.schemas import SubmissionForm


@pytest.mark.parametrize("word, public", [("1", True), (" TRUE ", True), ("yes", True), ("On", True), ("0", False),
                                          ("false", False), ("no", False), ("off", False), ("", False), (" ", False)])
def test_public_takes_the_contract_words(word, public):
    assert SubmissionForm.model_validate({"public": word}).public is public


@pytest.mark.parametrize("word", ["t", "y", "n", "f", "maybe", "2"])
def test_any_other_public_word_is_refused_with_its_code(word):
    with pytest.raises(ValidationError) as caught:
        SubmissionForm.model_validate({"public": word})
    problem = caught.value.errors()[0]
    assert (problem["type"], problem["msg"]) == ("invalid_public", f"'public' must be true or false, not {word!r}")


@pytest.mark.parametrize("field, names", [(None, None), ("  ", None), (" , ", []), ("a, b,a,", ["a", "b"])])
def test_benchmarks_are_split_deduplicated_and_blank_means_the_default_suite(field, names):
    assert SubmissionForm.model_validate({} if field is None else {"benchmarks": field}).benchmarks == names


def test_a_callback_url_is_an_http_url_or_nothing():
    assert SubmissionForm.model_validate({"callback_url": " https://example.org/hook "}).callback_url == \
        "https://example.org/hook"
    assert SubmissionForm.model_validate({"callback_url": "  "}).callback_url is None
    for url in ("ftp://example.org", "http://", "https://example.org/" + "a" * 2048):
        with pytest.raises(ValidationError) as caught:
            SubmissionForm.model_validate({"callback_url": url})
        assert caught.value.errors()[0]["type"] == "invalid_callback_url"
        assert caught.value.errors()[0]["msg"].endswith(f"not {url[:100]!r}")
