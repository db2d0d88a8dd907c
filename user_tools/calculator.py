"""Arithmetic for the model, evaluated from the syntax tree: never ``eval``.

Uses GLM's own ``Annotated[type, description, required]`` style for its parameter.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Annotated

from glm4_app.tools.functions import tool

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_FACTORIAL = 1000


def _factorial(n: int | float) -> int:
    if not float(n).is_integer() or n < 0:
        raise ValueError("factorial needs a whole number >= 0")
    if n > MAX_FACTORIAL:
        raise ValueError(f"factorial is limited to n <= {MAX_FACTORIAL}")
    return math.factorial(int(n))


_FUNCTIONS = {
    name: getattr(math, name)
    for name in (
        "sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
        "floor", "ceil", "degrees", "radians", "hypot", "gcd",
    )
}
_FUNCTIONS |= {"abs": abs, "round": round, "min": min, "max": max, "factorial": _factorial}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_EXPRESSION_CHARS = 500
MAX_RESULT_BITS = 10_000  # about 3,000 digits: stops 9**9**9 from hanging the app


@tool
def calculate(
    expression: Annotated[
        str,
        "Arithmetic expression, e.g. '(3 + 4.5) * 2 ** 10 / sqrt(7)'. Supports + - * / // % **, "
        "parentheses, pi, e and functions such as sqrt, log, sin, round, factorial.",
        True,
    ],
) -> int | float:
    """Evaluate an arithmetic expression and return the number."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    result = _evaluate(tree.body)
    if isinstance(result, int) and result.bit_length() > MAX_RESULT_BITS:
        raise ValueError("the result is too large to show")
    return result


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        raise ValueError("'^' is not a power here; write ** (e.g. 2 ** 8)")
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*[_evaluate(arg) for arg in node.args])
    raise ValueError(f"unsupported in an arithmetic expression: {ast.unparse(node)!r}")


def _check_power(base: int | float, exponent: int | float) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        if abs(base).bit_length() * exponent > MAX_RESULT_BITS:
            raise ValueError("the result would be too large to compute")
