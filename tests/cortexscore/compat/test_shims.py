"""The stand-ins must be importable only after enable(), and never hide real Brain-Score packages."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str, env_path: str = "") -> str:
    env = {"PYTHONPATH": env_path} if env_path else {}
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                               env={**__import__("os").environ, **env}, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_shims_are_absent_or_the_stand_ins_until_enabled():
    """Before enable(), ``model_tools`` is either not found or, where cortexscore-compat.pth is installed, the
    stand-in at the end of sys.path: never anything else of ours."""
    output = run_python("""
        import importlib.util, pathlib
        import cortexscore.compat
        shims = cortexscore.compat.shim_path()
        for name in ('model_tools', 'brainscore'):
            spec = importlib.util.find_spec(name)
            print(spec is None or shims in pathlib.Path(spec.origin).resolve().parents)
        cortexscore.compat.enable()
        from model_tools.check_submission import check_models
        from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images
        from model_tools.brain_transformation import ModelCommitment
        from brainscore import score_model
        from brainscore_vision import model_registry
        from cortexscore.models import model_registry as ours
        print(callable(check_models.check_base_models), model_registry is ours)
    """)
    assert output.splitlines() == ["True", "True", "True True"]


def test_real_packages_earlier_on_the_path_win(tmp_path):
    real = tmp_path / "model_tools"
    real.mkdir()
    (real / "__init__.py").write_text("REAL = True\n")
    # The installed cortexscore-compat.pth may already have put the stand-ins last on sys.path; enable()
    # leaves sys.path as it found it.
    output = run_python("""
        import cortexscore.compat, sys
        before = list(sys.path)
        with cortexscore.compat.enable():
            import model_tools
            print(getattr(model_tools, 'REAL', False), sys.path[-1] == str(cortexscore.compat.shim_path()))
        print(sys.path == before)
    """, env_path=str(tmp_path))
    assert output.splitlines() == ["True True", "True"]


def test_pytorch_wrapper_call_returns_an_assembly_of_all_layers(tmp_path):
    from PIL import Image

    for index in range(3):
        Image.new("RGB", (8, 8), (index * 60,) * 3).save(tmp_path / f"s{index}.png")
    output = run_python(f"""
        import functools, torch, cortexscore.compat
        cortexscore.compat.enable()
        from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.ReLU())
        wrapper = PytorchWrapper(identifier='w', model=net, preprocessing=functools.partial(load_preprocess_images, image_size=8))
        wrapper.image_size = 8
        paths = [r'{tmp_path}/s0.png', r'{tmp_path}/s1.png', r'{tmp_path}/s2.png']
        assembly = wrapper(paths, layers=['0', '1'])
        print(assembly.shape, assembly['neuroid_id'].values[72], [name for name, _ in wrapper.layers()])
    """)
    assert output == "(3, 144) w.1.0 ['0', '1']"


def test_check_base_models_prints_success_for_a_good_module(tmp_path, capsys):
    from cortexscore.models.submission import load_submission
    from tests.cortexscore.models.helpers import write_tutorial

    load_submission(write_tutorial(tmp_path / "sub"))
    from model_tools.check_submission import check_models

    check_models.check_base_models("models.base_models")
    assert capsys.readouterr().out.strip() == "Test successful, you are ready to submit!"
