"""Sphinx extension of the guide, and the helpers that nox and the tests share with it.

The package imports without Sphinx (noxfile.py reads the version pins through
it); the directives load only when Sphinx sets the extension up.
"""


def setup(app):
    """Register the directives (directives.py), the claims (claims.py), the unchecked notes (unchecked.py),
    the publishing files (site.py) and the example downloads (downloads.py)."""
    from . import claims, downloads, site, unchecked
    from .directives import setup as register

    claims.setup(app)
    unchecked.setup(app)
    site.setup(app)
    downloads.setup(app)
    return register(app)
