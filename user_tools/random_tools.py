"""Random numbers and choices: language models are bad at being random."""

from __future__ import annotations

import math
import random
from typing import Literal, Optional

from glm4_app.tools.functions import tool

MAX_COUNT = 1000


@tool
def random_number(
    minimum: float = 1,
    maximum: float = 100,
    kind: Literal["integer", "decimal"] = "integer",
    count: int = 1,
    seed: Optional[int] = None,
) -> int | float | list:
    """Draw random numbers uniformly between two bounds (both included).

    Args:
        minimum: Smallest possible value.
        maximum: Largest possible value.
        kind: "integer" for whole numbers, "decimal" for real numbers.
        count: How many numbers to draw (1 returns a single number, more a list).
        seed: Fixes the sequence, for reproducible draws.
    """
    if minimum > maximum:
        raise ValueError(f"minimum ({minimum:g}) is greater than maximum ({maximum:g})")
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be between 1 and {MAX_COUNT}")
    rng = random.Random(seed)
    if kind == "integer":
        low, high = math.ceil(minimum), math.floor(maximum)
        if low > high:
            raise ValueError(f"no whole number lies between {minimum:g} and {maximum:g}")
        numbers: list = [rng.randint(low, high) for _ in range(count)]
    else:
        numbers = [rng.uniform(minimum, maximum) for _ in range(count)]
    return numbers[0] if count == 1 else numbers


@tool
def random_choice(options: list[str], count: int = 1, unique: bool = True) -> list[str]:
    """Pick random items from a list of options.

    Args:
        options: The items to choose from.
        count: How many items to pick.
        unique: If true, no item is picked twice.
    """
    if not options:
        raise ValueError("options is empty")
    if unique:
        if count > len(options):
            raise ValueError(f"cannot pick {count} different items from {len(options)} options")
        return random.sample(options, count)
    return random.choices(options, k=count)
