"""The linters are part of the test command: style drift fails CI like a bug does."""

import subprocess

from support import VENV_BIN


def test_ruff_check_is_clean(repo):
    result = subprocess.run(
        [VENV_BIN / "ruff", "check", "--no-cache", "."], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean(repo):
    result = subprocess.run(
        [VENV_BIN / "ruff", "format", "--check", "--no-cache", "."], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
