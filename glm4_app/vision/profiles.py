"""What each vision checkpoint accepts, as data the UI checks before anything is sent.

GLM-4V-9B (remote code) reads one image, carried by the first user message, with no system
prompt and no tools, in 8K tokens; GLM-4.1V-Thinking, GLM-4.5V and GLM-4.6V(-Flash) (native
``Glm4v``/``Glm4vMoe``/``Glm46V`` classes) take up to ten images as content parts in any user
message, PDFs and slide decks as page images (their model cards and reference demo: ten
images, pages rendered at 180 dpi), and mark regions as boxes on a 0-1000 scale. Whether a
checkpoint calls tools or can stop thinking is read from its own chat template, not from here.
Breaking a rule gets clear words (and, where it helps, the offer of a new conversation)
instead of a failure inside the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..notices import Notice


@dataclass(frozen=True)
class VisionProfile:
    family: str  # "glm-4v-9b" | "glm-4.1v" | "glm-4.5v" | "glm-4.6v"
    label: str
    max_images: int | None  # uploaded images per conversation; None: only the context limits
    images_in_first_message_only: bool
    system_prompt: bool
    context_window: int | None  # None: the checkpoint's own
    image_tokens: int | None = None  # fixed cost of one image in the prompt, when fixed
    documents: bool = False  # PDF/PPTX pages as images (their count is checked by the context)
    page_dpi: int = 180  # resolution the pages are rendered at
    grounding: bool = False  # marks regions as <|begin_of_box|>[x1,y1,x2,y2]<|end_of_box|>


GLM_4V_9B = VisionProfile(
    family="glm-4v-9b",
    label="GLM-4V-9B",
    max_images=1,
    images_in_first_message_only=True,
    system_prompt=False,
    context_window=8192,
    image_tokens=1600,  # 1120 x 1120 pixels: 80 x 80 patches of 14, merged 2 x 2
)
_NATIVE = dict(max_images=10, images_in_first_message_only=False, system_prompt=True,
               context_window=None, documents=True, page_dpi=180, grounding=True)
GLM_41V = VisionProfile(family="glm-4.1v", label="GLM-4.1V", **_NATIVE)  # 64K context
GLM_45V = VisionProfile(family="glm-4.5v", label="GLM-4.5V", **_NATIVE)  # 64K, MoE 106B-A12B
GLM_46V = VisionProfile(family="glm-4.6v", label="GLM-4.6V", **_NATIVE)  # 128K; -Flash is 9B
PROFILES = (GLM_4V_9B, GLM_41V, GLM_45V, GLM_46V)


def profile_for(model_type: str, name: str = "") -> VisionProfile | None:
    """The profile of a checkpoint by its config's ``model_type`` (None: not a vision model
    this app knows); ``name`` tells GLM-4.6V-Flash apart when it ships as ``glm4v``."""
    if model_type == "glm46v":
        return GLM_46V
    if model_type in ("glm4v", "glm4v_moe"):
        if "4.6v" in name.lower():
            return GLM_46V
        return GLM_45V if model_type == "glm4v_moe" else GLM_41V
    if model_type == "chatglm":  # with a vision_config: GLM-4V-9B's remote code
        return GLM_4V_9B
    return None


def profile_by_name(name: str) -> VisionProfile:
    """The profile of a model known only by name (a served model): GLM-4V-9B's strict rules
    when the name says so, GLM-4.5V's or GLM-4.6V's by their names, else GLM-4.1V's."""
    lowered = name.lower()
    if "glm-4v-9b" in lowered or lowered.endswith("glm-4v"):
        return GLM_4V_9B
    return GLM_46V if "4.6v" in lowered else GLM_45V if "4.5v" in lowered else GLM_41V


@dataclass(frozen=True)
class Refusal:
    message: Notice
    offer_new_conversation: bool = False  # the images would be fine as a fresh start


def check_send(
    profile: VisionProfile,
    messages: list[dict],
    new_images: list[str],
    system_prompt: str = "",
    new_pages: int = 0,
) -> Refusal | None:
    """Whether a user message with ``new_images`` (``new_pages`` of them pages of a PDF or
    slide deck) may follow ``messages``; None if it may. Pages count against the context
    (``check_context``), not against the image limit."""
    label = profile.label
    if system_prompt.strip() and not profile.system_prompt:
        return Refusal(Notice("vision.no_system_prompt", label=label))
    if new_pages and not profile.documents:
        return Refusal(Notice("vision.no_documents", label=label))
    earlier = sum(len(m.get("images", [])) - len(m.get("pages", [])) for m in messages)
    photos = len(new_images) - new_pages
    if profile.max_images is not None:
        if photos > profile.max_images:
            return Refusal(
                Notice(
                    "vision.too_many_images",
                    label=label,
                    images=_images(profile.max_images),
                    count=photos,
                    extra=photos - profile.max_images,
                )
            )
        if photos and earlier + photos > profile.max_images:
            left = profile.max_images - earlier
            if left <= 0:
                return Refusal(
                    Notice("vision.no_room", label=label, images=_images(profile.max_images)),
                    offer_new_conversation=True,
                )
            return Refusal(
                Notice("vision.some_room", label=label, images=_images(profile.max_images), left=left),
                offer_new_conversation=True,
            )
    if new_images and profile.images_in_first_message_only and any(
        m["role"] == "user" for m in messages
    ):
        return Refusal(Notice("vision.first_message_only", label=label), offer_new_conversation=True)
    return None


def check_context(prompt_tokens: int, window: int, reserve: int, pages: int) -> Refusal | None:
    """Whether a message with ``pages`` page images, making a prompt of ``prompt_tokens``,
    leaves ``reserve`` tokens of the window for the answer."""
    if prompt_tokens + reserve <= window:
        return None
    if pages:
        return Refusal(
            Notice("vision.pages_too_long", pages=pages, tokens=prompt_tokens, window=window, reserve=reserve)
        )
    return Refusal(Notice("vision.images_too_long", tokens=prompt_tokens, window=window, reserve=reserve))


def _images(n: int) -> Notice:
    return Notice("vision.one_image") if n == 1 else Notice("vision.images", count=n)
