"""Read a ROS 2 XML launch file into the list of processes it would start.

`load_launch_file(path, {"name": "value"})` checks the structure of each file as a
whole (tags, attributes, children: disabled branches too, as ros2 launch's parser does),
then evaluates arguments, substitutions, conditions, groups and includes, resolves every
executable and checks every params file, and returns a `LaunchDescription`. Nothing runs
here: any error (unknown tag or attribute, missing file, argument without a value, bad
substitution, include cycle, executable not installed) raises LaunchFileError naming the
file and line, so a caller starts either every process or none.

Tags and attributes follow real `ros2 launch` (launch_xml / launch_ros frontends), so
the same files run there:

    <launch>
      <arg name default description/>      <let name value/>
      <node pkg exec name namespace output respawn respawn_delay args>
        <param name value/> | <param from="params.yaml"/> | <param name><param .../></param>
        <remap from to/>  <env name value/>
      </node>
      <executable cmd name output cwd respawn respawn_delay> <env name value/> </executable>
      <include file> <arg name value/> </include>
      <group scoped> <push-ros-namespace namespace/> ... </group>
    </launch>

Every action tag also takes `if` / `unless` ("true"/"false"/"1"/"0" after substitution).
Scoping: a <group> (scoped="true", the default) and an <include> see their parent's
configurations, and what they set stays inside. Relative paths (include file, params
file, cwd) are taken from the current directory like `ros2 launch` does; launch files
use $(dirname) or $(find-pkg-share) for paths that must not depend on it.
Single-threaded; reads files only.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from xml.parsers import expat

from service_desk_robot.launching import substitutions
from service_desk_robot.launching.errors import LaunchError, LaunchFileError, SubstitutionError

OUTPUT_MODES = ("screen", "log", "both")
DEFAULT_OUTPUT = "log"  # as in ros2 launch: stdout to the log file, stderr on screen too


EMPTY_YAML = "''"  # rcl reads a -p value as YAML and refuses an empty one


@dataclass
class Element:
    tag: str
    attributes: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)


@dataclass(frozen=True)
class Argument:
    """An <arg> declaration (top-level file or any included one)."""

    name: str
    default: str | None
    description: str
    source: str  # "path:line"


@dataclass(frozen=True)
class ProcessSpec:
    """One process the launch file starts: a ROS node or a plain executable."""

    label: str  # unique in the description: the prefix of its output lines
    cmd: tuple[str, ...]
    env: Mapping[str, str]  # added to the runner's environment
    cwd: str | None
    output: str  # screen, log or both
    respawn: bool
    respawn_delay_s: float
    source: str  # "path:line" of the tag
    is_node: bool = False  # a <node> (the fields below are set for nodes only)
    package: str | None = None
    executable: str | None = None
    node_name: str | None = None
    namespace: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()  # ("file", path) or (name, value), in order
    remappings: tuple[tuple[str, str], ...] = ()


@dataclass
class LaunchDescription:
    path: Path
    arguments: list[Argument]  # declared by the top-level file, in order
    processes: list[ProcessSpec]
    configurations: dict[str, str]  # the top-level launch configurations after reading
    declared: set[str] = field(default_factory=set)  # argument names declared anywhere


@dataclass
class _Scope:
    variables: dict[str, str]
    namespace: str  # pushed ROS namespace, "" at the root
    file: Path
    chain: tuple[Path, ...]  # the files being read, outermost first (to catch include cycles)

    def child(self, file: Path | None = None) -> _Scope:
        chain = self.chain if file is None else (*self.chain, file)
        return _Scope(dict(self.variables), self.namespace, file or self.file, chain)


@dataclass(frozen=True)
class _Spec:
    """What a tag may hold: attributes, required attributes, and the schema of its children."""

    attributes: frozenset[str]
    required: tuple[str, ...] = ()
    children: str | None = None  # a key of _SCHEMAS; None = no children


_CONDITIONS = frozenset({"if", "unless"})
_NAME_VALUE = _Spec(frozenset({"name", "value"}), ("name", "value"))
_SCHEMAS: dict[str, dict[str, _Spec]] = {
    "root": {"launch": _Spec(frozenset(), (), "actions")},
    "actions": {
        "arg": _Spec(frozenset({"name", "default", "description"}) | _CONDITIONS, ("name",)),
        "let": _Spec(frozenset({"name", "value"}) | _CONDITIONS, ("name", "value")),
        "group": _Spec(frozenset({"scoped"}) | _CONDITIONS, (), "actions"),
        "push-ros-namespace": _Spec(frozenset({"namespace"}) | _CONDITIONS, ("namespace",)),
        "push_ros_namespace": _Spec(frozenset({"namespace"}) | _CONDITIONS, ("namespace",)),
        "include": _Spec(frozenset({"file"}) | _CONDITIONS, ("file",), "include"),
        "node": _Spec(
            frozenset({"pkg", "exec", "name", "namespace", "output", "respawn", "respawn_delay", "args"})
            | _CONDITIONS,
            ("exec",),
            "node",
        ),
        "executable": _Spec(
            frozenset({"cmd", "name", "output", "cwd", "respawn", "respawn_delay"}) | _CONDITIONS,
            ("cmd",),
            "executable",
        ),
    },
    "include": {"arg": _NAME_VALUE},
    "node": {
        "param": _Spec(frozenset({"name", "value", "from"}), (), "param"),
        "remap": _Spec(frozenset({"from", "to"}), ("from", "to")),
        "env": _NAME_VALUE,
    },
    "param": {"param": _Spec(frozenset({"name", "value", "from"}), (), "param")},
    "executable": {"env": _NAME_VALUE},
}


def _validate(file: Path, element: Element, schema: str, parent: str | None) -> None:
    """Check tags, attributes and children of a whole file, enabled branches or not."""
    specs = _SCHEMAS[schema]
    spec = specs.get(element.tag)
    if spec is None:
        if schema == "actions":
            supported = ", ".join(f"<{t}>" for t in sorted(specs))
            raise LaunchFileError(file, element.line, f"<{element.tag}>: unknown tag; supported: {supported}")
        allowed = ", ".join(f"<{t}>" for t in specs)
        raise LaunchFileError(
            file, element.line, f"<{element.tag}>: unexpected child of <{parent}>; allowed: {allowed}"
        )
    unknown = sorted(set(element.attributes) - spec.attributes)
    if unknown:
        raise LaunchFileError(
            file,
            element.line,
            f"<{element.tag}>: unknown attribute(s) {', '.join(repr(a) for a in unknown)}; "
            f"supported: {', '.join(sorted(spec.attributes))}",
        )
    missing = [a for a in spec.required if a not in element.attributes]
    if missing:
        raise LaunchFileError(
            file, element.line, f"<{element.tag}>: missing required attribute(s) {', '.join(missing)}"
        )
    if spec.children is None and element.children:
        child = element.children[0]
        raise LaunchFileError(
            file, child.line, f"<{child.tag}>: unexpected child of <{element.tag}>; it takes none"
        )
    for child in element.children:
        _validate(file, child, spec.children or "", element.tag)


def load_launch_file(
    path: str | os.PathLike[str],
    arguments: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LaunchDescription:
    """Read `path` with command-line `arguments` (name -> value) into a LaunchDescription."""
    reader = _Reader(dict(os.environ if environ is None else environ))
    file = Path(path).absolute()
    scope = _Scope(dict(arguments or {}), "", file, (file,))
    root = _read_xml(file, None, None)
    reader.read_root(root, scope, top=True)
    reader.processes = _unique_labels(reader.processes)
    return LaunchDescription(
        path=file,
        arguments=reader.top_arguments,
        processes=reader.processes,
        configurations=scope.variables,
        declared=reader.declared,
    )


def validate_launch_file(path: str | os.PathLike[str]) -> None:
    """Check one file's XML and structure only (no substitutions, no includes followed).

    For files meant for machines with packages this one lacks (gazebo.launch.xml needs
    ros_gz): LaunchFileError if a tag, attribute or child is wrong.
    """
    _read_xml(Path(path).absolute(), None, None)


def _read_xml(file: Path, including: Path | None, line: int | None) -> Element:
    """Parse one XML file with expat so that every element keeps its line number."""
    try:
        data = file.read_bytes()
    except OSError as error:
        where = (including, line) if including else (file, None)
        raise LaunchFileError(*where, f"cannot read launch file {file}: {error.strerror}") from error
    if file.suffix.lower() not in (".xml",):
        where = (including, line) if including else (file, None)
        raise LaunchFileError(*where, f"{file.name}: only XML launch files (*.launch.xml) are supported")
    parser = expat.ParserCreate()
    stack: list[Element] = []
    roots: list[Element] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = Element(tag, dict(attributes), parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if data.strip() and stack:
            raise LaunchFileError(
                file, parser.CurrentLineNumber, f"unexpected text {data.strip()!r} inside <{stack[-1].tag}>"
            )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise LaunchFileError(
            file, error.lineno, f"malformed XML: {expat.errors.messages[error.code]}"
        ) from error
    if roots[0].tag != "launch":
        raise LaunchFileError(file, roots[0].line, f"the root element must be <launch>, not <{roots[0].tag}>")
    _validate(file, roots[0], "root", None)
    return roots[0]


class _Reader:
    def __init__(self, environ: dict[str, str]) -> None:
        self.environ = environ
        self.processes: list[ProcessSpec] = []
        self.top_arguments: list[Argument] = []
        self.declared: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------

    def error(self, scope: _Scope, element: Element, message: str) -> LaunchFileError:
        return LaunchFileError(scope.file, element.line, f"<{element.tag}>: {message}")

    def value(self, scope: _Scope, element: Element, name: str, default: str | None = None) -> str | None:
        """The attribute `name` with substitutions evaluated (or `default` when absent)."""
        raw = element.attributes.get(name)
        if raw is None:
            return default
        context = substitutions.Context(scope.variables, scope.file, self.environ)
        try:
            return substitutions.evaluate(raw, context)
        except SubstitutionError as error:
            raise self.error(scope, element, f"attribute '{name}': {error}") from error

    def boolean(self, scope: _Scope, element: Element, name: str, default: bool) -> bool:
        text = self.value(scope, element, name)
        if text is None:
            return default
        lowered = text.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise self.error(scope, element, f"attribute '{name}' must be true or false, got {text!r}")

    def number(self, scope: _Scope, element: Element, name: str, default: float) -> float:
        text = self.value(scope, element, name)
        if text is None:
            return default
        try:
            number = float(text)
        except ValueError:
            number = -1.0
        if number < 0:
            raise self.error(scope, element, f"attribute '{name}' must be a number >= 0, got {text!r}")
        return number

    def enabled(self, scope: _Scope, element: Element) -> bool:
        if "if" in element.attributes and "unless" in element.attributes:
            raise self.error(scope, element, "use either 'if' or 'unless', not both")
        if "if" in element.attributes:
            return self.boolean(scope, element, "if", True)
        if "unless" in element.attributes:
            return not self.boolean(scope, element, "unless", False)
        return True

    # -- actions ---------------------------------------------------------------------------

    def read_root(self, root: Element, scope: _Scope, top: bool) -> None:
        self.read_actions(root.children, scope, top)

    def read_actions(self, elements: list[Element], scope: _Scope, top: bool = False) -> None:
        for element in elements:  # tags were validated against _SCHEMAS["actions"]
            self._ACTIONS[element.tag](self, element, scope, top)

    def read_arg(self, element: Element, scope: _Scope, top: bool) -> None:
        if not self.enabled(scope, element):
            return
        name = element.attributes["name"]
        default = self.value(scope, element, "default")
        self.declared.add(name)
        if top:
            self.top_arguments.append(
                Argument(
                    name, default, element.attributes.get("description", ""), f"{scope.file}:{element.line}"
                )
            )
        if name in scope.variables:
            return
        if default is None:
            raise self.error(
                scope, element, f"argument '{name}' has no default and no value (pass {name}:=VALUE)"
            )
        scope.variables[name] = default

    def read_let(self, element: Element, scope: _Scope, _top: bool) -> None:
        if self.enabled(scope, element):
            scope.variables[element.attributes["name"]] = self.value(scope, element, "value") or ""

    def read_group(self, element: Element, scope: _Scope, top: bool) -> None:
        if not self.enabled(scope, element):
            return
        inner = scope.child() if self.boolean(scope, element, "scoped", True) else scope
        self.read_actions(element.children, inner, top)

    def read_push_ros_namespace(self, element: Element, scope: _Scope, _top: bool) -> None:
        if self.enabled(scope, element):
            scope.namespace = join_namespace(scope.namespace, self.value(scope, element, "namespace") or "")

    def read_include(self, element: Element, scope: _Scope, _top: bool) -> None:
        if not self.enabled(scope, element):
            return
        file = Path(self.value(scope, element, "file") or "").absolute()
        if file in scope.chain:
            cycle = " -> ".join(str(f) for f in (*scope.chain, file))
            raise self.error(scope, element, f"include cycle: {cycle}")
        inner = scope.child(file)
        for arg in element.children:
            # Values are evaluated in the including file's scope, then seen by the included one.
            inner.variables[arg.attributes["name"]] = self.value(scope, arg, "value") or ""
        root = _read_xml(file, scope.file, element.line)
        self.read_root(root, inner, top=False)

    def read_node(self, element: Element, scope: _Scope, _top: bool) -> None:
        if not self.enabled(scope, element):
            return
        package = self.value(scope, element, "pkg")
        executable = self.value(scope, element, "exec") or ""
        node_name = self.value(scope, element, "name")
        namespace = join_namespace(scope.namespace, self.value(scope, element, "namespace") or "") or None
        parameters: list[tuple[str, str]] = []
        remappings: list[tuple[str, str]] = []
        env: dict[str, str] = {}
        for child in element.children:
            if child.tag == "param":
                parameters.extend(self.read_param(child, scope, prefix=""))
            elif child.tag == "remap":
                remappings.append(
                    (self.value(scope, child, "from") or "", self.value(scope, child, "to") or "")
                )
            else:
                env.update(self.read_env(child, scope))
        program = self.resolve_node_executable(scope, element, package, executable)
        cmd = [program, *self.split(scope, element, "args")]
        ros_args = []
        if node_name:
            ros_args += ["-r", f"__node:={node_name}"]
        if namespace:
            ros_args += ["-r", f"__ns:={namespace}"]
        for name, value in parameters:
            if name == "file":
                ros_args += ["--params-file", value]
            else:
                ros_args += ["-p", f"{name}:={value or EMPTY_YAML}"]
        for source, target in remappings:
            ros_args += ["-r", f"{source}:={target}"]
        if ros_args:
            cmd += ["--ros-args", *ros_args]
        self.processes.append(
            ProcessSpec(
                label=node_name or Path(executable).name,
                cmd=tuple(cmd),
                env=env,
                cwd=None,
                output=self.output(scope, element),
                respawn=self.boolean(scope, element, "respawn", False),
                respawn_delay_s=self.number(scope, element, "respawn_delay", 0.0),
                source=f"{scope.file}:{element.line}",
                is_node=True,
                package=package,
                executable=executable,
                node_name=node_name,
                namespace=namespace,
                parameters=tuple(parameters),
                remappings=tuple(remappings),
            )
        )

    def read_param(self, element: Element, scope: _Scope, prefix: str) -> list[tuple[str, str]]:
        attributes = set(element.attributes)
        if attributes == {"from"}:
            path = Path(self.value(scope, element, "from") or "")
            if prefix:
                raise self.error(scope, element, "a params file cannot be nested in a parameter group")
            if not path.is_file():
                raise self.error(scope, element, f"params file {path} does not exist")
            return [("file", str(path.absolute()))]
        if attributes == {"name", "value"}:
            return [(prefix + (element.attributes["name"]), self.value(scope, element, "value") or "")]
        if attributes == {"name"} and element.children:  # a parameter group: <param name="g"><param .../>
            group = f"{prefix}{element.attributes['name']}."
            return [item for child in element.children for item in self.read_param(child, scope, group)]
        raise self.error(
            scope, element, "use either name and value, or from=PARAMS_FILE (or a group of <param>)"
        )

    def read_env(self, element: Element, scope: _Scope) -> dict[str, str]:
        return {self.value(scope, element, "name") or "": self.value(scope, element, "value") or ""}

    def read_executable(self, element: Element, scope: _Scope, _top: bool) -> None:
        if not self.enabled(scope, element):
            return
        cmd = self.split(scope, element, "cmd")
        if not cmd:
            raise self.error(scope, element, "attribute 'cmd' is empty")
        env: dict[str, str] = {}
        for child in element.children:
            env.update(self.read_env(child, scope))
        cwd = self.value(scope, element, "cwd")
        if cwd is not None and not Path(cwd).is_dir():
            raise self.error(scope, element, f"cwd {cwd} is not a folder")
        program = self.which(cmd[0], cwd)
        if program is None:
            raise self.error(scope, element, f"executable '{cmd[0]}' not found (not a file, not on PATH)")
        self.processes.append(
            ProcessSpec(
                label=self.value(scope, element, "name") or Path(cmd[0]).name,
                cmd=(program, *cmd[1:]),
                env=env,
                cwd=cwd,
                output=self.output(scope, element),
                respawn=self.boolean(scope, element, "respawn", False),
                respawn_delay_s=self.number(scope, element, "respawn_delay", 0.0),
                source=f"{scope.file}:{element.line}",
                executable=cmd[0],
            )
        )

    _ACTIONS: ClassVar[dict[str, Callable[..., None]]] = {
        "arg": read_arg,
        "let": read_let,
        "group": read_group,
        "push-ros-namespace": read_push_ros_namespace,
        "push_ros_namespace": read_push_ros_namespace,  # launch_ros accepts both spellings
        "include": read_include,
        "node": read_node,
        "executable": read_executable,
    }

    # -- resolution ------------------------------------------------------------------------

    def split(self, scope: _Scope, element: Element, name: str) -> list[str]:
        text = self.value(scope, element, name) or ""
        try:
            return shlex.split(text)
        except ValueError as error:
            raise self.error(scope, element, f"attribute '{name}': {error}") from error

    def output(self, scope: _Scope, element: Element) -> str:
        output = self.value(scope, element, "output", DEFAULT_OUTPUT) or DEFAULT_OUTPUT
        if output not in OUTPUT_MODES:
            raise self.error(scope, element, f"attribute 'output' must be one of {', '.join(OUTPUT_MODES)}")
        return output

    def which(self, program: str, cwd: str | None = None) -> str | None:
        if os.sep in program:
            path = Path(cwd or ".", program) if not os.path.isabs(program) else Path(program)
            return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
        return shutil.which(program, path=self.environ.get("PATH", os.defpath))

    def resolve_node_executable(
        self, scope: _Scope, element: Element, package: str | None, executable: str
    ) -> str:
        """Like ros2 launch: <prefix>/lib/<pkg>/<exec> of the package's prefix; PATH without pkg."""
        if not package:
            program = self.which(executable)
            if program is None:
                raise self.error(scope, element, f"executable '{executable}' not found on PATH")
            return program
        try:
            prefix = substitutions.package_prefix(package, self.environ)
        except LaunchError as error:
            raise self.error(scope, element, str(error)) from error
        program = prefix / "lib" / package / executable
        if not (program.is_file() and os.access(program, os.X_OK)):
            raise self.error(
                scope, element, f"executable '{executable}' of package '{package}' not installed ({program})"
            )
        return str(program)


def join_namespace(base: str, namespace: str) -> str:
    """Namespace `namespace` seen from `base`: absolute ones replace it, relative ones nest."""
    namespace = namespace.strip()
    if not namespace:
        return base
    if namespace.startswith("/"):
        return "/" + namespace.strip("/") if namespace.strip("/") else "/"
    return f"{base.rstrip('/')}/{namespace.strip('/')}"


def _unique_labels(processes: list[ProcessSpec]) -> list[ProcessSpec]:
    """Suffix repeated labels (-2, -3, ...) so every output line names one process."""
    seen: dict[str, int] = {}
    unique = []
    for process in processes:
        count = seen.get(process.label, 0) + 1
        seen[process.label] = count
        if count > 1:
            process = dataclasses.replace(process, label=f"{process.label}-{count}")
        unique.append(process)
    return unique
