"""Explanations of real/fake decisions, one module per method, one call shape:

``EXPLAINERS[name](model, pixel_values, target) -> np.ndarray (B, H, W)`` with values in [0, 1], where
``target`` is the class explained (1 = fake) for every image or one per image.
"""

from __future__ import annotations

from .gradcam import grad_cam, grad_cam_plus_plus
from .layers import is_token_model
from .rollout import attention_rollout, gradient_rollout

EXPLAINERS = {
    "gradcam": grad_cam,
    "gradcam++": grad_cam_plus_plus,
    "rollout": attention_rollout,
    "grad_rollout": gradient_rollout,
}
TOKEN_ONLY = {"rollout", "grad_rollout"}


def methods_for(model) -> list[str]:
    """The explanation methods that apply to ``model`` (rollout needs attention weights)."""
    return [name for name in EXPLAINERS if is_token_model(model) or name not in TOKEN_ONLY]


__all__ = ["EXPLAINERS", "methods_for"]
