"""What the custom image page says its Dockerfile refuses, it refuses: a real build with a broken argument."""

from __future__ import annotations

import pytest
from ailab_guide import versions
from harness import examples


@pytest.mark.usefixtures("base_images")
def test_a_missing_jupyterhub_version_stops_the_build(docker_client):
    """`test -n` stops the build before pip runs, instead of installing whatever `jupyterhub==` finds."""
    pins = {**versions.pins("minimal"), "JUPYTERHUB_VERSION": ""}
    with pytest.raises(examples.BuildFailed, match=r"test -n"):
        examples.build(docker_client, "minimal", "Dockerfile.ai-lab", buildargs=pins)
