from __future__ import annotations

import shutil
import textwrap

from cortexscore.models.check import SUCCESS_MESSAGE, check_submission
from tests.cortexscore.models.helpers import CUSTOM_EXAMPLE, write_tutorial


def test_tutorial_custom_model_passes_from_a_zip(tmp_path, capsys):
    archive = shutil.make_archive(str(tmp_path / "my_custom_submission"), "zip", CUSTOM_EXAMPLE.parent,
                                  CUSTOM_EXAMPLE.name)
    assert check_submission(archive) == []
    assert capsys.readouterr().out.strip() == SUCCESS_MESSAGE


def test_folder_holding_the_submission_folder_is_accepted(tmp_path, capsys):
    write_tutorial(tmp_path / "outer" / "sub")
    assert check_submission(tmp_path / "outer") == []
    assert SUCCESS_MESSAGE in capsys.readouterr().out


def test_each_failed_check_is_named_and_success_is_not_printed(tmp_path, capsys):
    root = write_tutorial(tmp_path / "sub", layers="['pool']", extra_init="self.pool = torch.nn.AdaptiveAvgPool2d(2)",
                          forward="return self.pool(self.relu(self.conv(x)))")
    problems = check_submission(root)
    assert problems and all("model 'tiny'" in problem for problem in problems)
    assert "layer 'pool' of model 'tiny' gives 8 features per image; each layer needs at least 25" in problems[0]
    assert SUCCESS_MESSAGE not in capsys.readouterr().out


def test_user_brain_model_with_bad_outputs_is_reported(tmp_path):
    package = tmp_path / "sub" / "models" / "odd"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent('''
        import numpy as np
        import xarray as xr
        from brainscore_vision import model_registry

        class Odd:
            identifier = 'odd'
            def visual_degrees(self):
                return 8
            def start_task(self, task, fitting_stimuli=None):
                self.task = task
            def start_recording(self, region, time_bins=None):
                self.task = None
            def look_at(self, stimuli, number_of_trials=1):
                n = len(stimuli)
                if self.task == 'probabilities':
                    return xr.DataArray(np.full((n, 2), 1.5), dims=('presentation', 'choice'))
                return xr.DataArray(np.zeros((n, 30)), dims=('presentation', 'neuroid'),
                                    coords={'stimulus_id': ('presentation', stimuli['stimulus_id'].values),
                                            'neuroid_id': ('neuroid', ['same'] * 30)})

        model_registry['odd'] = lambda: Odd()
        '''))
    problems = check_submission(tmp_path / "sub")
    assert problems == ["model 'odd': look_at's neuroid_id values are not unique; each feature needs its own id",
                        "model 'odd': probabilities must lie in [0, 1]; got values from 1.5 to 1.5"]


def test_missing_path_and_import_errors_are_problems(tmp_path):
    assert check_submission(tmp_path / "nope") == [f"{tmp_path / 'nope'} does not exist; give the submission folder "
                                                   "or its zip"]
    root = write_tutorial(tmp_path / "sub", source="raise SystemExit('no')\n")
    [problem] = check_submission(root)
    assert "importing sub/models/base_models.py failed with SystemExit: no" in problem


def test_exception_in_a_user_brain_model_names_the_step(tmp_path):
    package = tmp_path / "sub" / "models" / "broken"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent('''
        from brainscore_vision import model_registry

        class Broken:
            identifier = 'broken'
            def visual_degrees(self):
                return 8
            def start_task(self, task, fitting_stimuli=None):
                if task == 'probabilities':
                    raise KeyError('image_label')
            def start_recording(self, region, time_bins=None):
                raise RuntimeError(f'cannot record {region}')
            def look_at(self, stimuli, number_of_trials=1):
                return None

        model_registry['broken'] = Broken
        '''))
    assert check_submission(tmp_path / "sub") == [
        "model 'broken': look_at while recording raised RuntimeError: cannot record IT",
        "model 'broken': the probabilities task raised KeyError: 'image_label'"]
