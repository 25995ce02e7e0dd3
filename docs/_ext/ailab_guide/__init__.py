"""Sphinx extension of the guide, and the helpers that nox and the tests share with it.

The package imports without Sphinx (noxfile.py reads the version pins through
it); the directives load only when Sphinx sets the extension up.
"""


def setup(app):
    """Register the directives (see directives.py) and the example downloads (downloads.py)."""
    from . import downloads
    from .directives import setup as register

    downloads.setup(app)
    return register(app)
