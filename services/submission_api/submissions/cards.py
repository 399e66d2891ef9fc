"""Model cards: the optional ``metadata.yaml`` beside a submission's ``models/``.

Either one card for every model of the submission::

    architecture: CNN
    family: ResNet
    training_data: ImageNet-1k
    dataset_size: 1281167
    licence: MIT
    link: https://example.org/paper

or one per model under ``models:`` (``models: {resnet18: {architecture: CNN}}``).
Unknown keys, a malformed file, or a card for a model the submission lacks are
a 422 ``invalid_metadata`` at upload.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import yaml
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

MAX_BYTES = 64 << 10


class InvalidMetadata(ValueError):
    pass


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    architecture: str | None = Field(None, max_length=100)
    family: str | None = Field(None, max_length=100)
    training_data: str | None = Field(None, max_length=200)
    dataset_size: int | None = Field(None, ge=0)
    licence: str | None = Field(None, max_length=100, alias="license")
    link: AnyHttpUrl | None = None


def _card(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidMetadata(f"{where} must be a mapping of card fields")
    try:
        card = ModelCard.model_validate(value)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        raise InvalidMetadata(f"{where}: {field}: {problem['msg']}") from None
    return {key: str(val) if key == "link" else val for key, val in card.model_dump(exclude_none=True).items()}


def read_model_cards(zip_path: Path, root: str | None, models: list[str]) -> dict[str, dict] | None:
    """The cards of ``metadata.yaml`` at the submission's root, by model; None when there is no such file."""
    name = f"{root.rstrip('/')}/metadata.yaml" if root else "metadata.yaml"
    with zipfile.ZipFile(zip_path) as archive:
        try:
            info = archive.getinfo(name)
        except KeyError:
            return None
        if info.file_size > MAX_BYTES:
            raise InvalidMetadata(f"metadata.yaml is {info.file_size} bytes; the limit is {MAX_BYTES}")
        text = archive.read(info)[:MAX_BYTES]
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidMetadata(f"metadata.yaml is not valid YAML: {str(error).splitlines()[0]}") from None
    if document is None:
        return None
    if not isinstance(document, dict):
        raise InvalidMetadata("metadata.yaml must be a mapping")
    if "models" in document:
        per_model = document["models"]
        if set(document) != {"models"} or not isinstance(per_model, dict):
            raise InvalidMetadata("metadata.yaml with 'models:' must hold only a mapping of model name to card")
        unknown = sorted(set(map(str, per_model)) - set(models))
        if unknown:
            raise InvalidMetadata(f"metadata.yaml describes model(s) the submission lacks: {', '.join(unknown)}")
        return {str(model): _card(card, f"models.{model}") for model, card in per_model.items()}
    card = _card(document, "metadata.yaml")
    return {model: dict(card) for model in models}
