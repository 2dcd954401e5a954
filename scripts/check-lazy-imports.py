#!/usr/bin/env python3
"""Fail on an import inside a function unless its line says why with a `# lazy: <reason>` comment.

The import contract (`lint-imports`, pyproject.toml) already counts imports inside functions, so a
cycle cannot hide in one; this check keeps them rare and explained. The allowed reasons are the
CLI's lazy start (a command imports only what it runs, so `tocsin --help` stays fast) and optional
or heavy providers loaded only when configured. Usage: check-lazy-imports.py [SRC_DIR]
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

MARK = "# lazy:"


def comments(text: str) -> dict[int, str]:
    """Line number -> comment on that line."""
    out: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string
    return out


def unexplained(path: Path) -> list[str]:
    text = path.read_text()
    notes = comments(text)
    found = []
    for func in ast.walk(ast.parse(text, str(path))):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lines = range(node.lineno, (node.end_lineno or node.lineno) + 1)
                reason = next((notes[n] for n in lines if notes.get(n, "").startswith(MARK)), "")
                if len(reason) <= len(MARK) + 1:
                    found.append(f"{path}:{node.lineno}: import inside {func.name}() without a '{MARK} <why>' "
                                 "comment; move it to the top of the module")
    return sorted(set(found))


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "src/tocsin")
    problems = [p for f in sorted(root.rglob("*.py")) for p in unexplained(f)]
    print("\n".join(problems) if problems else f"lazy imports: every import inside a function under {root} "
                                                 "says why")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
