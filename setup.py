"""Everything is in pyproject.toml except one file: the .pth that exposes cortexscore.compat's stand-ins.

``cortexscore-compat.pth`` goes to site-packages itself, so that every Python of the environment appends
``cortexscore/compat/shims`` to the end of ``sys.path`` at start-up: ``python models/base_models.py`` then
finds ``model_tools`` and ``brainscore`` as the tutorial says, while real Brain-Score packages, found earlier
on the path, still win.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "cortexscore-compat.pth"
SOURCE = Path(__file__).resolve().parent / "shared" / "cortexscore" / "compat" / PTH


class build_py_with_pth(build_py):
    """build_py, plus the .pth at the root of what becomes site-packages.

    The .pth finds the package at start-up (``importlib.util.find_spec``), so one file serves both installs: a
    wheel's root is ``build_lib``; an editable wheel (``pip install -e``) keeps only what is written to the
    unpacked wheel, which is ``install_lib`` then.
    """

    def run(self):
        super().run()
        self.copy_file(str(SOURCE), str(Path(self.build_lib) / PTH), preserve_mode=0)
        if getattr(self, "editable_mode", False):
            unpacked_wheel = self.distribution.get_command_obj("install").install_lib
            self.copy_file(str(SOURCE), str(Path(unpacked_wheel) / PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH)]

    def get_output_mapping(self):
        return {**super().get_output_mapping(), str(Path(self.build_lib) / PTH): str(SOURCE)}


setup(cmdclass={"build_py": build_py_with_pth})
