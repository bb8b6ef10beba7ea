"""A fingerprint of Python code that ignores comments, docstrings and formatting.

Why: a cell's key holds its model's code, and the golden test of the training code
(tests/test_training_version.py) holds the loop's; both must change when behaviour-bearing code
changes and stay when someone fixes a comment or a docstring. Hashing the syntax tree (with the
docstrings taken out) instead of the file's bytes does exactly that.

    code_fingerprint([Path("models/conv_ae.py")])  # -> "3f9c0a1b2c4d"
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def code_fingerprint(paths) -> str:
    """Short SHA-256 over the files' syntax trees, in order, without docstrings."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(normalized_code(Path(path).read_text()).encode())
    return digest.hexdigest()[:12]


def normalized_code(source: str) -> str:
    """The code's syntax tree as text: comments, docstrings, blank lines and line numbers gone."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, DOCSTRING_OWNERS) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))
