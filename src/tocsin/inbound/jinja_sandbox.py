"""The Jinja2 environment that runs operator-written mapping templates on sender data.

Jinja2's immutable sandbox already refuses Python internals (`''.__class__`) and changes
to the data. This module adds what the sandbox leaves open, checked before the work is
done: results too large to hold in memory (`'x' * 10**9`, `9 ** 10**9`, `'x'.center(10**9)`,
`'%999999999d' % 1`), and a cap on the rendered text. CPU time is not bounded (three nested
`range` loops still run); only integration admins can write templates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import ChainableUndefined, Template, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_OUTPUT = 65_536  # characters; also the largest number a template may pass as a size
_MAX_BITS = 100_000  # largest integer a template may compute by * or **
_HUGE_WIDTH = re.compile(r"\d{6,}")  # a width or precision of a million or more in a format
_SEQUENCES = (str, list, tuple)


class _EmptyUndefined(ChainableUndefined):
    """A missing value renders empty even several levels deep (`payload.a.b`); one the
    sandbox refused still raises.

    Plain `Undefined` would render `{{ ''.__class__ }}` as "" and hide that the template
    tried to reach Python internals; the operator should see that refusal.
    """

    __slots__ = ()

    def __str__(self) -> str:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return ""


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, refusing oversized results of operators and str methods.

    Immutable: a template must not change the item (`payload.update(...)`) that later
    expressions, the fallback dedup hash and the stored payload all read. Intercepting an
    operator also stops Jinja2 from folding it at compile time, so `validate_mapping`
    never computes a huge constant either.
    """

    intercepted_binops = frozenset(("*", "**", "+", "%"))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right) and right > 0:
            if max(abs(left).bit_length() - 1, 1) * right > _MAX_BITS:
                raise SecurityError("the result of ** would be too large")
        elif operator == "*":
            if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > _MAX_BITS:
                raise SecurityError("the result of * would be too large")
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, _SEQUENCES) and _is_int(count) and len(seq) * count > MAX_OUTPUT:
                    raise SecurityError("the result of * would be too long")
        elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            if len(left) + len(right) > MAX_OUTPUT:
                raise SecurityError("the result of + would be too long")
        elif operator == "%" and isinstance(left, str) and _HUGE_WIDTH.search(left):
            raise SecurityError("format width too large")
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # The sandbox hands out str.format wrapped in its own safe formatter; look through it.
        method = getattr(obj, "__wrapped__", obj)
        owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
        if isinstance(owner, str):
            # str methods take sizes (center, ljust, zfill, expandtabs) and templates (format).
            _check_sizes(args, kwargs)
            if name in ("format", "format_map") and _HUGE_WIDTH.search(owner):
                raise SecurityError("format width too large")
            if name == "replace":
                _check_replace(owner, *args)
        return super().call(context, obj, *args, **kwargs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_sizes(args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """Raise SecurityError if any argument is an integer too large to be a sane size."""
    for value in (*args, *kwargs.values()):
        if _is_int(value) and abs(value) > MAX_OUTPUT:
            raise SecurityError(f"argument {value} is too large")


def _check_replace(text: Any, old: Any = "", new: Any = "", *_rest: Any) -> None:
    """Raise SecurityError if replacing `old` by `new` in `text` would make it too long."""
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * len(new) > MAX_OUTPUT:
            raise SecurityError("the result of replace would be too long")


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Return `function` refusing oversized size arguments (the filtered value itself is free)."""
    # Filters marked pass_context/pass_eval_context/pass_environment get that object first.
    skip = 2 if getattr(function, "jinja_pass_arg", None) is not None else 1

    @functools.wraps(function)  # keeps `jinja_pass_arg`, which Jinja2 reads
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_sizes(args[skip:], kwargs)
        value = args[skip - 1] if len(args) >= skip else None
        if name == "format" and isinstance(value, str) and _HUGE_WIDTH.search(value):
            raise SecurityError("format width too large")
        if name == "replace":
            _check_replace(value, *args[skip:])
        return function(*args, **kwargs)

    return guarded


def environment(undefined: type[Undefined] = _EmptyUndefined) -> ImmutableSandboxedEnvironment:
    """A new guarded sandbox; `undefined` says what a missing name does (default: renders empty;
    comms templates pass StrictUndefined so a misspelt name is an error the editor sees)."""
    # Output is alert text, not HTML: no autoescape. `lipsum` makes text of any size and
    # `namespace` lets a loop grow a value from one iteration to the next: both removed.
    env = _Sandbox(autoescape=False, undefined=undefined)
    for name in ("lipsum", "namespace"):
        env.globals.pop(name, None)
    env.filters = {name: _guard_filter(name, function) for name, function in env.filters.items()}
    return env


ENV = environment()


def compile_template(text: str) -> Template:
    """Return the compiled template; raise jinja2.TemplateError for a syntax error."""
    return ENV.from_string(text)


def render(template: Template, names: dict[str, Any]) -> str:
    """Return the template rendered with `names`; raise SecurityError past MAX_OUTPUT.

    Other errors (undefined operations, type errors, sandbox refusals) propagate as raised.
    """
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(names):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"template output is longer than {MAX_OUTPUT} characters")
        chunks.append(chunk)
    return "".join(chunks)
