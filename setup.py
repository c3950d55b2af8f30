"""Compiles the gettext catalogs (.po -> .mo) whenever the package is built or installed
(`pip install .`, `pip wheel .`, the image build), so the .mo files ship in the wheel without
ever being committed (docs/i18n.md). Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGS = Path(__file__).resolve().parent / "firmware" / "webui" / "translations"


class build_py_with_catalogs(build_py):
    def run(self):
        compile_catalogs()
        super().run()


def compile_catalogs() -> None:
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:      # Babel is a run-time dependency; the box reads the .po then
        return
    for po in sorted(CATALOGS.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)


setup(cmdclass={"build_py": build_py_with_catalogs})
