"""The falsifier list stays in step with the project: every edit applies, every named test exists."""

from __future__ import annotations

import pytest
from ailab_guide import claims
from harness import falsify, paths


@pytest.mark.parametrize("falsifier", falsify.load(), ids=lambda f: f.id)
def test_every_falsifier_applies_and_names_real_tests(falsifier, tmp_path) -> None:
    target = tmp_path / falsifier.file
    target.parent.mkdir(parents=True)
    target.write_text((paths.ROOT / falsifier.file).read_text())
    falsifier.apply(tmp_path)  # raises when the text to replace is gone or repeated
    assert target.read_text() != (paths.ROOT / falsifier.file).read_text(), f"{falsifier.id} changes nothing"
    known = claims.test_functions()
    for test in falsifier.tests:
        function = test.split("[", 1)[0]  # a parametrized case, `test_x[param]`, names its function
        assert function in known or (paths.ROOT / test).is_file(), f"{falsifier.id} names {test}, which is no test"
