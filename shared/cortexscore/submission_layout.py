"""Static checks of a submission zip: its safety and its layout, without running any of its code.

Every problem found is collected, so one upload tells the user everything to
fix. Each problem names the file or rule that failed and how to fix it.
"""
from __future__ import annotations

import ast
import stat
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

TUTORIAL_FILES = ("__init__.py", "setup.py", "models/__init__.py", "models/base_models.py")
REQUIRED_FUNCTIONS = ("get_model_list", "get_model", "get_layers", "get_bibtex")
IGNORED_PREFIXES = ("__MACOSX/",)
IGNORED_NAMES = (".DS_Store",)
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".whl", ".egg")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class Limits:
    max_files: int = 2000
    max_uncompressed_bytes: int = 2 << 30
    max_compression_ratio: float = 200.0


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    file: str | None = None


@dataclass
class LayoutReport:
    layout: str | None = None
    root: str | None = None
    models: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def detail(self) -> dict:
        """The 422 body's ``detail``: a code, one readable message and every problem."""
        first = self.problems[0].code if self.problems else "ok"
        count = len(self.problems)
        summary = "; ".join(problem.message for problem in self.problems)
        return {
            "code": first,
            "message": f"The submission zip has {count} problem{'s' if count != 1 else ''}: {summary}",
            "problems": [asdict(problem) for problem in self.problems],
        }


def check_submission_zip(path: Path, limits: Limits = Limits()) -> LayoutReport:
    """Check a zip's safety and its layout; never executes or imports its code.

    Examples
    --------
    >>> import io, tempfile, zipfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "empty.zip"
    >>> _ = path.write_bytes(b"")
    >>> [p.code for p in check_submission_zip(path).problems]
    ['empty_file']
    """
    report = LayoutReport()
    size = Path(path).stat().st_size
    if size == 0:
        report.problems.append(Problem("empty_file", "the uploaded file is empty (0 bytes); attach the zip with "
                                                     "-F file=@model.zip"))
        return report
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic not in ZIP_MAGIC or not zipfile.is_zipfile(path):
        report.problems.append(Problem("not_a_zip", "the upload is not a zip archive; zip your submission folder "
                                                    "(for example `zip -r model.zip my_submission/`) and upload that"))
        return report
    try:
        with zipfile.ZipFile(path) as archive:
            names = _check_entries(archive, limits, report)
            if report.problems:
                return report
            _check_layout(archive, names, report)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
        report.problems.append(Problem("corrupt_zip", f"the zip archive is damaged or truncated ({error}); "
                                                      "create it again and re-upload"))
    return report


def _check_entries(archive: zipfile.ZipFile, limits: Limits, report: LayoutReport) -> list[str]:
    """Reject unsafe entries; return the kept file names."""
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        report.problems.append(Problem("too_many_files", f"the zip holds {len(infos)} entries, more than the limit "
                                                         f"of {limits.max_files}; leave out data and caches"))
        return []
    total = 0
    names = []
    for info in infos:
        name = info.filename
        if info.flag_bits & 0x800 == 0 and not name.isascii():
            report.problems.append(Problem("non_utf8_name", f"the entry name {name!r} is not UTF-8; rename the file "
                                                           "with plain UTF-8 characters", name))
            continue
        if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":") or ".." in PurePosixPath(name).parts:
            report.problems.append(Problem("unsafe_path", f"the entry {name!r} points outside the submission folder "
                                                         "(absolute path or '..'); zip the folder itself", name))
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            report.problems.append(Problem("symlink", f"the entry {name!r} is a symbolic link; replace it with "
                                                     "the file itself", name))
            continue
        if info.flag_bits & 0x1:
            report.problems.append(Problem("encrypted", f"the entry {name!r} is encrypted; zip without a "
                                                       "password", name))
            continue
        if info.is_dir() or name.startswith(IGNORED_PREFIXES) or PurePosixPath(name).name in IGNORED_NAMES:
            continue
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            report.problems.append(Problem("nested_archive", f"the entry {name!r} is an archive inside the zip; "
                                                            "unpack it into the folder instead", name))
            continue
        total += info.file_size
        if info.file_size > 1 << 20 and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
            report.problems.append(Problem("zip_bomb", f"the entry {name!r} expands {info.file_size} bytes from "
                                                      f"{info.compress_size}, a ratio above "
                                                      f"{limits.max_compression_ratio:g}", name))
            continue
        names.append(name)
    if total > limits.max_uncompressed_bytes:
        report.problems.append(Problem("zip_bomb", f"the zip expands to {total} bytes, more than the limit of "
                                                  f"{limits.max_uncompressed_bytes}"))
    return names


def _check_layout(archive: zipfile.ZipFile, names: list[str], report: LayoutReport) -> None:
    roots = sorted({name.split("/", 1)[0] for name in names if "/" in name})
    loose = sorted(name for name in names if "/" not in name)
    if not names:
        report.problems.append(Problem("no_files", "the zip holds no files; zip your submission folder with its "
                                                   "contents"))
        return
    if loose or len(roots) != 1:
        found = ", ".join(roots + loose)
        report.problems.append(Problem("root_folder", f"the zip must hold exactly one root folder with everything "
                                                      f"inside it, but its top level holds: {found}; zip the "
                                                      f"submission folder itself (e.g. `zip -r model.zip "
                                                      f"my_submission/`)"))
        return
    root = report.root = roots[0]
    inside = {name[len(root) + 1:] for name in names}
    nested = _nested_submission(inside)
    if nested is not None:
        report.problems.append(Problem(
            "nested_folder", f"the submission folder is {root}/{nested}/, one folder level too deep: the zip's root "
            f"folder {root}/ must hold models/ itself. Zip the folder {nested}/ instead (e.g. `cd {root} && zip -r "
            f"{nested}.zip {nested}/`), or submit {root}/{nested} with `cortexscore submit`", f"{root}/{nested}/"))
        return
    plugin_models = sorted({n.split("/")[1] for n in inside if n.startswith("models/") and n.count("/") == 2
                            and n.endswith("/__init__.py")})
    if "models/base_models.py" not in inside and "setup.py" not in inside and plugin_models:
        report.layout = "plugin"
        report.models = plugin_models
        for model in plugin_models:
            source = _read_source(archive, f"{root}/models/{model}/__init__.py", report)
            if source is not None and "model_registry" not in source:
                report.problems.append(Problem("missing_registration", f"{root}/models/{model}/__init__.py does not "
                                               f"register the model: add model_registry['{model}'] = lambda: <model>",
                                               f"{root}/models/{model}/__init__.py"))
        return
    report.layout = "tutorial"
    for required in TUTORIAL_FILES:
        if required not in inside:
            report.problems.append(Problem("missing_file", f"{root}/{required} is missing; the tutorial layout needs "
                                           f"{', '.join(TUTORIAL_FILES)} inside the root folder",
                                           f"{root}/{required}"))
    if "models/base_models.py" in inside:
        _check_base_models(archive, f"{root}/models/base_models.py", report)


def _nested_submission(inside: set[str]) -> str | None:
    """The one subfolder that holds a submission, when the root folder itself holds none (zipped a level too high).

    >>> _nested_submission({"my_submission/setup.py", "my_submission/models/base_models.py"})
    'my_submission'
    >>> _nested_submission({"models/base_models.py", "setup.py"}) is None
    True
    """
    if any(name.startswith("models/") for name in inside):
        return None
    candidates = {name.split("/", 1)[0] for name in inside
                  if name.count("/") >= 2 and name.split("/", 1)[1].startswith("models/")
                  and (name.endswith("/models/base_models.py") or name.endswith("/__init__.py"))}
    return candidates.pop() if len(candidates) == 1 else None


def _read_source(archive: zipfile.ZipFile, name: str, report: LayoutReport) -> str | None:
    try:
        return archive.read(name).decode("utf-8")
    except UnicodeDecodeError:
        report.problems.append(Problem("not_utf8_source", f"{name} is not UTF-8 text; save it as UTF-8", name))
        return None


def _check_base_models(archive: zipfile.ZipFile, name: str, report: LayoutReport) -> None:
    source = _read_source(archive, name, report)
    if source is None:
        return
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as error:
        report.problems.append(Problem("syntax_error", f"{name} line {error.lineno}: {error.msg}; fix the syntax "
                                                       "error", name))
        return
    defined = _module_level_definitions(tree)
    for function in REQUIRED_FUNCTIONS:
        if function not in defined:
            report.problems.append(Problem("missing_function", f"{name} does not define {function}(); the tutorial "
                                           f"layout needs {', '.join(f + '()' for f in REQUIRED_FUNCTIONS)}", name))
    if "get_model_list" in defined:
        models = _literal_model_list(tree)
        if models is None:
            report.problems.append(Problem("model_list_not_literal", f"{name}: get_model_list() must return a "
                                           "literal list of model names, such as return ['my-model'], so that the "
                                           "models are known without running the code", name))
        elif not models:
            report.problems.append(Problem("no_models", f"{name}: get_model_list() returns an empty list; return "
                                                        "the names of the models to score", name))
        elif len(set(models)) != len(models):
            report.problems.append(Problem("duplicate_models", f"{name}: get_model_list() names a model twice", name))
        else:
            report.models = models


def _module_level_definitions(tree: ast.Module) -> dict[str, ast.AST]:
    defined: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defined[target.id] = node.value
    return defined


def _literal_model_list(tree: ast.Module) -> list[str] | None:
    """The list ``get_model_list`` returns, resolving module-level constants; None if not static."""
    defined = _module_level_definitions(tree)
    function = defined["get_model_list"]
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    returns = [node.value for node in ast.walk(function) if isinstance(node, ast.Return) and node.value is not None]
    if len(returns) != 1:
        return None
    value = _resolve(returns[0], defined)
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        return None
    return list(value)


def _resolve(node: ast.AST, defined: dict[str, ast.AST], depth: int = 0):
    if depth > 5:
        return None
    if isinstance(node, ast.Name) and node.id in defined and not isinstance(defined[node.id], ast.FunctionDef):
        return _resolve(defined[node.id], defined, depth + 1)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_resolve(element, defined, depth + 1) for element in node.elts]
        return None if any(item is None for item in items) else items
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


# Names the compatibility shims answer to: a submission may declare them and still run unchanged.
SHIMMED_DISTRIBUTIONS = {"model-tools", "brainscore", "brain-score", "brainscore-vision", "brainscore-core",
                         "candidate-models", "cortexscore"}


def declared_requirements(path: Path) -> list[tuple[str, str]]:
    """The requirements a zip declares in ``requirements.txt``, ``setup.py``'s ``install_requires`` and
    ``pyproject.toml``'s ``[project] dependencies``,
    as (requirement, file) pairs, read without running anything.

    >>> import tempfile, pathlib, zipfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.zip"
    >>> with zipfile.ZipFile(path, "w") as archive:
    ...     archive.writestr("s/setup.py", "from setuptools import setup\\nsetup(install_requires=['numpy>=1'])")
    ...     archive.writestr("s/requirements.txt", "# pinned\\ntorch==2.13.0\\n-r other.txt\\n")
    >>> declared_requirements(path)
    [('torch==2.13.0', 's/requirements.txt'), ('numpy>=1', 's/setup.py')]
    """
    found: list[tuple[str, str]] = []
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist(), key=lambda name: (name.count("/"), name))
        for name in names:
            if name.count("/") > 2:
                continue
            if PurePosixPath(name).name == "requirements.txt":
                text = archive.read(name).decode("utf-8", "replace")
                found += [(line.split("#")[0].strip(), name) for line in text.splitlines()
                          if line.split("#")[0].strip() and not line.strip().startswith("-")]
            elif PurePosixPath(name).name == "setup.py" and name.count("/") == 1:
                found += [(requirement, name) for requirement in _install_requires(archive.read(name))]
            elif PurePosixPath(name).name == "pyproject.toml" and name.count("/") == 1:
                found += [(requirement, name) for requirement in _project_dependencies(archive.read(name))]
    return found


def _project_dependencies(source: bytes) -> list[str]:
    """``[project] dependencies`` of a pyproject.toml; nothing when it does not parse."""
    import tomllib

    try:
        dependencies = tomllib.loads(source.decode("utf-8", "replace")).get("project", {}).get("dependencies", [])
    except tomllib.TOMLDecodeError:
        return []
    return [item for item in dependencies if isinstance(item, str)] if isinstance(dependencies, list) else []


def _install_requires(source: bytes) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    defined = _module_level_definitions(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "setup":
            for keyword in node.keywords:
                if keyword.arg == "install_requires":
                    value = _resolve(keyword.value, defined)
                    if isinstance(value, (list, tuple)):
                        return [item for item in value if isinstance(item, str)]
    return []


@dataclass
class RequirementPlan:
    """What a submission's declared requirements need: packages for its own environment, or named refusals."""

    install: list[str]
    provided: list[str]
    problems: list[str]


def plan_requirements(requirements: list[tuple[str, str]]) -> RequirementPlan:
    """Sort declared requirements into what the platform provides, what to install, and what is refused.

    The platform's own packages (torch, numpy and everything installed with it) and the tutorial's
    packages (``model-tools``, ``brainscore``..., whatever URL names them) are the platform's; a requirement
    that asks for another version of one is refused. Anything else named by a URL or a path is refused:
    only index packages are installed.

    >>> plan = plan_requirements([("numpy", "s/requirements.txt"), ("einops>=0.7", "s/requirements.txt"),
    ...     ("model-tools @ git+https://github.com/brain-score/model-tools", "s/setup.py"),
    ...     ("numpy<1", "s/setup.py"), ("mylib @ file:///home/me/mylib", "s/setup.py")])
    >>> plan.install, plan.provided
    (['einops>=0.7'], ['numpy', 'model-tools @ git+https://github.com/brain-score/model-tools'])
    >>> for problem in plan.problems: print(problem)
    numpy<1 (declared in s/setup.py) conflicts with the platform's numpy ...; remove it, or accept ...
    mylib @ file:///home/me/mylib (declared in s/setup.py) names a URL or a path; only packages on the package index can be installed: publish it as a wheel, or put its code in the zip
    """
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    plan = RequirementPlan([], [], [])
    for text, source in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            plan.problems.append(f"{text!r} in {source} is not a valid requirement")
            continue
        if requirement.marker and not requirement.marker.evaluate():
            continue
        if canonicalize_name(requirement.name) in SHIMMED_DISTRIBUTIONS:
            plan.provided.append(text)
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            installed = None
        if installed is not None:
            if requirement.url or (requirement.specifier and
                                   not requirement.specifier.contains(installed, prereleases=True)):
                plan.problems.append(f"{text} (declared in {source}) conflicts with the platform's {requirement.name} "
                                     f"{installed}; remove it, or accept {requirement.name}=={installed}")
            else:
                plan.provided.append(text)
        elif requirement.url:
            plan.problems.append(f"{text} (declared in {source}) names a URL or a path; only packages on the package "
                                 "index can be installed: publish it as a wheel, or put its code in the zip")
        else:
            plan.install.append(text)
    return plan


def missing_requirements(requirements: list[tuple[str, str]]) -> list[str]:
    """Each declared requirement the platform's own environment does not satisfy, in words naming it."""
    plan = plan_requirements(requirements)
    return plan.problems + [f"{text} is not installed on the scorers" for text in plan.install]