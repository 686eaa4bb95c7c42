"""`$(...)` substitutions of ROS 2 launch files, and the ament index look-ups they need.

Supported, with the names and argument rules of real `ros2 launch`:

    $(var NAME)                 a launch configuration (an <arg> or a <let>)
    $(env NAME [DEFAULT])       an environment variable; an error when unset without default
    $(optenv NAME [DEFAULT])    an environment variable, "" (or DEFAULT) when unset
    $(find-pkg-share PKG)       <prefix>/share/PKG of the first AMENT_PREFIX_PATH prefix holding PKG
    $(find-pkg-prefix PKG)      that prefix
    $(dirname) / $(filename)    folder / full path of the launch file being read

Arguments are separated by spaces; single quotes group an argument that holds spaces
(`$(env GREETING 'xin chào')`) and substitutions nest (`$(find-pkg-share $(var pkg))`).
Pure functions of their inputs; no threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.launching.errors import SubstitutionError

PACKAGE_MARKERS = Path("share/ament_index/resource_index/packages")


@dataclass(frozen=True)
class Call:
    """One `$(name arg ...)`; each argument is itself a template (a list of parts)."""

    name: str
    args: tuple[tuple[str | Call, ...], ...]


Template = tuple[str | Call, ...]


@dataclass(frozen=True)
class Context:
    """What substitutions read: launch configurations, the environment, the current file."""

    variables: Mapping[str, str]
    file: Path
    environ: Mapping[str, str]


def ament_prefixes(environ: Mapping[str, str] | None = None) -> list[Path]:
    environ = os.environ if environ is None else environ
    return [Path(p) for p in environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def package_prefix(package: str, environ: Mapping[str, str] | None = None) -> Path:
    """The first ament prefix that registers `package`; SubstitutionError when none does."""
    prefixes = ament_prefixes(environ)
    for prefix in prefixes:
        if (prefix / PACKAGE_MARKERS / package).is_file():
            return prefix
    searched = ", ".join(str(p) for p in prefixes) or "(AMENT_PREFIX_PATH is empty)"
    raise SubstitutionError(f"package '{package}' not found in the ament index of {searched}")


def parse(text: str) -> Template:
    """Split `text` into literal strings and substitution calls."""
    parts, _ = _parse_parts(text, 0, stop=_never)
    return parts


def evaluate(text: str, context: Context) -> str:
    """Parse and evaluate `text` (SubstitutionError on a bad or failing substitution)."""
    return evaluate_template(parse(text), context)


def evaluate_template(template: Template, context: Context) -> str:
    return "".join(part if isinstance(part, str) else _call(part, context) for part in template)


def _never(_char: str) -> bool:
    return False


def _ends_quoted(char: str) -> bool:
    return char == "'"


def _ends_unquoted(char: str) -> bool:
    return char == ")" or char.isspace()


def _parse_parts(text: str, position: int, stop: Callable[[str], bool]) -> tuple[Template, int]:
    """Read literals and calls until `stop` accepts a character (outside nested calls) or the end."""
    parts: list[str | Call] = []
    literal: list[str] = []
    while position < len(text):
        char = text[position]
        if text.startswith("$(", position):
            if literal:
                parts.append("".join(literal))
                literal = []
            call, position = _parse_call(text, position + 2)
            parts.append(call)
            continue
        if stop(char):
            break
        literal.append(char)
        position += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts), position


def _parse_call(text: str, position: int) -> tuple[Call, int]:
    start = position
    while position < len(text) and not text[position].isspace() and text[position] != ")":
        position += 1
    name = text[start:position]
    if not name:
        raise SubstitutionError(f"empty substitution '$()' in '{text}'")
    args: list[Template] = []
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            raise SubstitutionError(f"unterminated substitution '$({name}' in '{text}' (missing ')')")
        if text[position] == ")":
            return Call(name, tuple(args)), position + 1
        if text[position] == "'":
            arg, position = _parse_parts(text, position + 1, stop=_ends_quoted)
            if position >= len(text):
                raise SubstitutionError(f"unterminated quote in substitution '$({name}' in '{text}'")
            position += 1  # closing quote
        else:
            arg, position = _parse_parts(text, position, stop=_ends_unquoted)
        args.append(arg)


def _call(call: Call, context: Context) -> str:
    handler = _HANDLERS.get(call.name)
    if handler is None:
        raise SubstitutionError(
            f"unknown substitution '$({call.name} ...)'; supported: {', '.join(sorted(_HANDLERS))}"
        )
    minimum, maximum, function = handler
    if not minimum <= len(call.args) <= maximum:
        expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
        raise SubstitutionError(f"$({call.name}) takes {expected} argument(s), got {len(call.args)}")
    values = [evaluate_template(arg, context) for arg in call.args]
    return function(values, context)


def _var(args: list[str], context: Context) -> str:
    name = args[0]
    if name not in context.variables:
        raise SubstitutionError(f"launch configuration '{name}' is not set (no <arg> or <let> defines it)")
    return context.variables[name]


def _env(args: list[str], context: Context) -> str:
    if args[0] in context.environ:
        return context.environ[args[0]]
    if len(args) == 2:
        return args[1]
    raise SubstitutionError(f"environment variable '{args[0]}' is not set and $(env) has no default")


def _optenv(args: list[str], context: Context) -> str:
    return context.environ.get(args[0], args[1] if len(args) == 2 else "")


def _find_pkg_share(args: list[str], context: Context) -> str:
    return str(package_prefix(args[0], context.environ) / "share" / args[0])


def _find_pkg_prefix(args: list[str], context: Context) -> str:
    return str(package_prefix(args[0], context.environ))


_HANDLERS: dict[str, tuple[int, int, Callable[[list[str], Context], str]]] = {
    "var": (1, 1, _var),
    "env": (1, 2, _env),
    "optenv": (1, 2, _optenv),
    "find-pkg-share": (1, 1, _find_pkg_share),
    "find-pkg-prefix": (1, 1, _find_pkg_prefix),
    "dirname": (0, 0, lambda _args, context: str(context.file.parent)),
    "filename": (0, 0, lambda _args, context: str(context.file)),
}
