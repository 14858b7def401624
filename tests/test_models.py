import io
import zipfile

import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline

from conftest import CIFAKE_ZIP
from realfake_hf.data import import_dataset
from realfake_hf.inference import load_detector, predict_split
from realfake_hf.models import create_model, list_models


@pytest.mark.parametrize("name", list_models())
def test_registered_models_give_two_logits_and_a_loss(name):
    model = create_model(name, image_size=32)
    assert model.config.id2label == {0: "real", 1: "fake"}
    output = model(pixel_values=torch.randn(3, 3, 32, 32), labels=torch.tensor([0, 1, 1]))
    assert output.logits.shape == (3, 2) and output.loss.ndim == 0 and torch.isfinite(output.loss)
    output.loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_paper_cnn_has_the_published_size():
    parameters = sum(p.numel() for p in create_model("paper_cnn").parameters())
    assert 130_000 < parameters < 150_000  # "about 0.14M" for the public re-implementations


def test_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(KeyError, match="paper_cnn"):
        create_model("resnet9000")


def test_trained_folder_loads_with_auto_classes_and_runs_in_a_pipeline(trained_tiny_model, mini_cifake_zip):
    model = AutoModelForImageClassification.from_pretrained(trained_tiny_model)
    processor = AutoImageProcessor.from_pretrained(trained_tiny_model)
    assert type(model).__name__ == "PaperCNNForImageClassification"
    with zipfile.ZipFile(CIFAKE_ZIP) as archive:
        image = Image.open(io.BytesIO(archive.read("test/FAKE/0 (10).jpg")))
        image.load()
    detector = pipeline("image-classification", model=str(trained_tiny_model))
    scores = {row["label"]: row["score"] for row in detector(image)}
    assert set(scores) == {"real", "fake"} and sum(scores.values()) == pytest.approx(1, abs=1e-5)
    with torch.inference_mode():
        direct = torch.softmax(model(**processor(image, return_tensors="pt")).logits, -1)[0, 1].item()
    assert scores["fake"] == pytest.approx(direct, abs=1e-5)


def test_pipeline_and_project_inference_agree(trained_tiny_model, mini_cifake_zip):
    """The decode-once training/evaluation path and the saved image processor see the same pixels."""
    test = import_dataset("cifake", str(mini_cifake_zip))["test"].select(range(8))
    model, processor = load_detector(trained_tiny_model)
    ours = predict_split(model, processor, test)
    detector = pipeline("image-classification", model=str(trained_tiny_model))
    theirs = [next(r["score"] for r in detector(image) if r["label"] == "fake") for image in test["image"]]
    assert ours == pytest.approx(theirs, abs=1e-4)
