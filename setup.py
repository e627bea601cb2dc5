"""The build step pyproject.toml cannot say: the wheel carries ``config/`` as ``gateway/defaults/``.

The repository keeps one copy of the embedded configuration and the
operator profiles, in ``config/`` where operators and the docs expect it.
An installed package has no repository beside it, so ``build_py`` copies
that folder's TOML files into the built package; ``gateway.config`` reads
``gateway/defaults/`` when it exists (an installed wheel) and ``config/``
otherwise (a checkout, or an editable install, which builds nothing).
A symlink would not do: wheels store files, not links.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # the editable package reads config/ in the checkout
        target = Path(self.build_lib) / "gateway" / "defaults"
        shutil.rmtree(target, ignore_errors=True)
        for source in sorted((ROOT / "config").rglob("*.toml")):
            copy = target / source.relative_to(ROOT / "config")
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)


setup(cmdclass={"build_py": BuildWithDefaults})
