import zipfile

import pytest

from cortexscore.submission_layout import check_submission_zip
from tests.zips import BASE_MODELS, tutorial_files, write_zip


def codes(report):
    return [problem.code for problem in report.problems]


def test_tutorial_layout_is_accepted_with_its_models(tmp_path):
    report = check_submission_zip(write_zip(tmp_path / "ok.zip", tutorial_files()))
    assert report.ok, report.problems
    assert (report.layout, report.root, report.models) == ("tutorial", "my_submission", ["tiny"])


@pytest.mark.parametrize("missing", ["setup.py", "models/__init__.py", "__init__.py", "models/base_models.py"])
def test_each_missing_tutorial_file_is_named(tmp_path, missing):
    files = tutorial_files()
    files[f"my_submission/{missing}"] = None
    report = check_submission_zip(write_zip(tmp_path / "broken.zip", files))
    assert codes(report) == ["missing_file"]
    assert f"my_submission/{missing} is missing" in report.problems[0].message


def test_two_root_folders_are_named(tmp_path):
    files = {**tutorial_files("first"), **tutorial_files("second")}
    report = check_submission_zip(write_zip(tmp_path / "two.zip", files))
    assert codes(report) == ["root_folder"]
    assert "first, second" in report.problems[0].message


def test_missing_function_is_named_without_running_code(tmp_path):
    source = BASE_MODELS.replace("def get_layers(name):", "def other(name):") + "\nraise SystemExit('ran!')\n"
    report = check_submission_zip(write_zip(tmp_path / "f.zip", tutorial_files(**{"models/base_models.py": source})))
    assert codes(report) == ["missing_function"]
    assert "get_layers()" in report.problems[0].message


def test_every_problem_is_reported_at_once(tmp_path):
    files = tutorial_files(**{"models/base_models.py": "def get_model(name):\n    pass\n"})
    files["my_submission/setup.py"] = None
    report = check_submission_zip(write_zip(tmp_path / "many.zip", files))
    assert codes(report) == ["missing_file"] + ["missing_function"] * 3


@pytest.mark.parametrize(("content", "code"), [(b"", "empty_file"), (b"hello, not a zip", "not_a_zip")])
def test_not_a_zip_and_empty_file(tmp_path, content, code):
    path = tmp_path / "upload.zip"
    path.write_bytes(content)
    assert codes(check_submission_zip(path)) == [code]


def test_syntax_error_names_the_line(tmp_path):
    report = check_submission_zip(write_zip(tmp_path / "s.zip", tutorial_files(**{"models/base_models.py": "def (:\n"})))
    assert codes(report) == ["syntax_error"]
    assert "line 1" in report.problems[0].message


def test_model_list_must_be_static(tmp_path):
    source = BASE_MODELS.replace("return [MODEL_NAME]", "return compute()")
    report = check_submission_zip(write_zip(tmp_path / "d.zip", tutorial_files(**{"models/base_models.py": source})))
    assert codes(report) == ["model_list_not_literal"]


def test_plugin_layout_lists_its_models(tmp_path):
    files = {"plugin/models/alpha/__init__.py": "from cortexscore.models import model_registry\n"
                                                "model_registry['alpha'] = lambda: None\n",
             "plugin/models/alpha/model.py": "\n"}
    report = check_submission_zip(write_zip(tmp_path / "p.zip", files))
    assert report.ok and report.layout == "plugin" and report.models == ["alpha"]


@pytest.mark.parametrize(("name", "code"), [("../evil.py", "unsafe_path"), ("/etc/passwd", "unsafe_path"),
                                            ("my_submission/data.zip", "nested_archive")])
def test_unsafe_entries_are_rejected(tmp_path, name, code):
    files = {**tutorial_files(), name: "x"}
    assert code in codes(check_submission_zip(write_zip(tmp_path / "u.zip", files)))


def test_symlink_is_rejected(tmp_path):
    path = write_zip(tmp_path / "l.zip", tutorial_files())
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("my_submission/link")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    assert "symlink" in codes(check_submission_zip(path))


def test_truncated_zip_is_reported(tmp_path):
    path = write_zip(tmp_path / "t.zip", tutorial_files())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert codes(check_submission_zip(path))[0] in ("not_a_zip", "corrupt_zip")


@pytest.mark.parametrize("layout", ["tutorial", "plugin"])
def test_a_zip_one_folder_too_deep_names_the_folder_to_zip(tmp_path, layout):
    if layout == "tutorial":
        files = tutorial_files("outer/my_submission")
    else:
        files = {"outer/my_submission/models/tiny/__init__.py": "model_registry['tiny'] = lambda: None\n"}
    files["outer/README.txt"] = "notes beside the submission folder\n"
    report = check_submission_zip(write_zip(tmp_path / "outer.zip", files))
    assert codes(report) == ["nested_folder"], report.problems
    [problem] = report.problems
    assert problem.file == "outer/my_submission/"
    assert "outer/my_submission/, one folder level too deep" in problem.message
    assert "zip -r my_submission.zip my_submission/" in problem.message


def test_two_nested_folders_are_not_guessed_between(tmp_path):
    files = {**tutorial_files("outer/first"), **tutorial_files("outer/second")}
    report = check_submission_zip(write_zip(tmp_path / "outer.zip", files))
    assert "nested_folder" not in codes(report) and "missing_file" in codes(report)
