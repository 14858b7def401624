"""realfake-hf: train, explain and stress-test detectors of AI-generated images, the Hugging Face way."""

from . import models  # noqa: F401  (registers this project's models with the transformers Auto classes)

__version__ = "0.1.0"
