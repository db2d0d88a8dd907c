"""What each vision checkpoint accepts, as data the UI checks before anything is sent.

GLM-4V-9B (remote code) reads one image, carried by the first user message, with no system
prompt and no tools, in 8K tokens; GLM-4.1V (native ``Glm4vForConditionalGeneration``)
takes images as content parts in any user message. Breaking a rule gets clear words (and,
where it helps, the offer of a new conversation) instead of a failure inside the model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VisionProfile:
    family: str  # "glm-4v-9b" | "glm-4.1v"
    label: str
    max_images: int | None  # per conversation; None: no limit beyond the context window
    images_in_first_message_only: bool
    system_prompt: bool
    context_window: int | None  # None: the checkpoint's own
    image_tokens: int | None = None  # fixed cost of one image in the prompt, when fixed


GLM_4V_9B = VisionProfile(
    family="glm-4v-9b",
    label="GLM-4V-9B",
    max_images=1,
    images_in_first_message_only=True,
    system_prompt=False,
    context_window=8192,
    image_tokens=1600,  # 1120 x 1120 pixels: 80 x 80 patches of 14, merged 2 x 2
)
GLM_41V = VisionProfile(
    family="glm-4.1v",
    label="GLM-4.1V",
    max_images=None,
    images_in_first_message_only=False,
    system_prompt=True,
    context_window=None,
)


def profile_for(model_type: str) -> VisionProfile | None:
    """The profile of a checkpoint by its config's ``model_type`` (None: not a vision model
    this app knows)."""
    if model_type in ("glm4v", "glm4v_moe"):
        return GLM_41V
    if model_type == "chatglm":  # with a vision_config: GLM-4V-9B's remote code
        return GLM_4V_9B
    return None


def profile_by_name(name: str) -> VisionProfile:
    """The profile of a model known only by name (a served model): GLM-4V-9B's strict rules
    when the name says so, else GLM-4.1V's."""
    lowered = name.lower()
    return GLM_4V_9B if "glm-4v-9b" in lowered or lowered.endswith("glm-4v") else GLM_41V


@dataclass(frozen=True)
class Refusal:
    message: str
    offer_new_conversation: bool = False  # the images would be fine as a fresh start


def check_send(
    profile: VisionProfile,
    messages: list[dict],
    new_images: list[str],
    system_prompt: str = "",
) -> Refusal | None:
    """Whether a user message with ``new_images`` may follow ``messages``; None if it may."""
    label = profile.label
    if system_prompt.strip() and not profile.system_prompt:
        return Refusal(
            f"{label} takes no system prompt. Clear it under ⚙️ Generation, then send again."
        )
    earlier = [path for m in messages for path in m.get("images", [])]
    if profile.max_images is not None:
        if len(new_images) > profile.max_images:
            return Refusal(
                f"{label} reads {_images(profile.max_images)} per conversation; you attached "
                f"{len(new_images)}. Remove all but one."
            )
        if new_images and len(earlier) + len(new_images) > profile.max_images:
            return Refusal(
                f"{label} reads {_images(profile.max_images)} per conversation, and this one "
                "already has its image. Start a new conversation with the new image?",
                offer_new_conversation=True,
            )
    if new_images and profile.images_in_first_message_only and any(
        m["role"] == "user" for m in messages
    ):
        return Refusal(
            f"{label} reads an image only with the first message of a conversation. "
            "Start a new conversation with this image?",
            offer_new_conversation=True,
        )
    return None


def _images(n: int) -> str:
    return "one image" if n == 1 else f"{n} images"
