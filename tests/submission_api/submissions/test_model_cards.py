"""metadata.yaml beside models/: one card for all models, or one per model; a malformed one is a named error."""
import zipfile

import pytest

from submission_api.submissions.cards import InvalidMetadata, read_model_cards


def card_zip(tmp_path, text: str | None):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sub/models/__init__.py", "")
        if text is not None:
            archive.writestr("sub/metadata.yaml", text)
    return path


def test_one_card_for_every_model_and_cards_per_model(tmp_path):
    assert read_model_cards(card_zip(tmp_path, None), "sub", ["a"]) is None
    cards = read_model_cards(card_zip(tmp_path, "architecture: CNN\nlicense: MIT\ndataset_size: 1000\n"
                                                "link: https://example.org/x\n"), "sub", ["a", "b"])
    assert cards["a"] == cards["b"] == {"architecture": "CNN", "licence": "MIT", "dataset_size": 1000,
                                        "link": "https://example.org/x"}
    cards = read_model_cards(card_zip(tmp_path, "models:\n  a: {architecture: ViT, training_data: Ecoset}\n"),
                             "sub", ["a", "b"])
    assert cards == {"a": {"architecture": "ViT", "training_data": "Ecoset"}}


@pytest.mark.parametrize("text, message", [
    ("architecture: [unclosed", "not valid YAML"),
    ("- a list\n", "must be a mapping"),
    ("architecture: CNN\ncolour: red\n", "colour"),
    ("dataset_size: -3\n", "dataset_size"),
    ("link: javascript:alert(1)\n", "link"),
    ("models:\n  nobody: {architecture: CNN}\n", "lacks: nobody"),
])
def test_a_malformed_metadata_yaml_is_refused_by_name(tmp_path, text, message):
    with pytest.raises(InvalidMetadata, match=message):
        read_model_cards(card_zip(tmp_path, text), "sub", ["a"])
