"""`$(...)` substitutions: values, nesting, quoting, and every way one can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_desk_robot.launching.errors import SubstitutionError
from service_desk_robot.launching.substitutions import Context, evaluate


@pytest.fixture
def context(tmp_path: Path) -> Context:
    prefix = tmp_path / "prefix"
    (prefix / "share/ament_index/resource_index/packages").mkdir(parents=True)
    (prefix / "share/ament_index/resource_index/packages/demo_pkg").touch()
    return Context(
        variables={"name": "desk", "pkg": "demo_pkg", "empty": ""},
        file=tmp_path / "launch" / "a.launch.xml",
        environ={"AMENT_PREFIX_PATH": f"/nonexistent:{prefix}", "HOME_CITY": "Hà Nội"},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("$(var name)", "desk"),
        ("robot_$(var name)_1", "robot_desk_1"),
        ("[$(var empty)]", "[]"),
        ("$(env HOME_CITY)", "Hà Nội"),
        ("$(env MISSING 'xin chào')", "xin chào"),
        ("$(env MISSING '$(var name) two')", "desk two"),
        ("$(optenv MISSING)", ""),
        ("$(optenv HOME_CITY fallback)", "Hà Nội"),
        ("  $(var   name)  ", "  desk  "),
    ],
)
def test_values(context: Context, text: str, expected: str) -> None:
    assert evaluate(text, context) == expected


def test_package_and_file_lookups(context: Context, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    assert evaluate("$(find-pkg-share $(var pkg))/config", context) == f"{prefix}/share/demo_pkg/config"
    assert evaluate("$(find-pkg-prefix demo_pkg)", context) == str(prefix)
    assert evaluate("$(dirname)/b.xml", context) == f"{tmp_path}/launch/b.xml"
    assert evaluate("$(filename)", context) == f"{tmp_path}/launch/a.launch.xml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$(var nope)", "launch configuration 'nope' is not set"),
        ("$(env MISSING)", "environment variable 'MISSING' is not set"),
        ("$(find-pkg-share no_such_pkg)", "package 'no_such_pkg' not found"),
        ("$(eval 1+1)", "unknown substitution '$(eval"),
        ("$(var name", "unterminated substitution"),
        ("$(env X 'open)", "unterminated quote"),
        ("$(var)", "takes 1 argument(s), got 0"),
        ("$(dirname extra)", "takes 0 argument(s), got 1"),
        ("$()", "empty substitution"),
    ],
)
def test_errors(context: Context, text: str, message: str) -> None:
    with pytest.raises(SubstitutionError) as caught:
        evaluate(text, context)
    assert message in str(caught.value)
