"""A real, headless Chromium driven by Playwright, for what a person sees.

Playwright's own browser download does not work everywhere, so this uses the
system's Chromium (Debian package `chromium`), or the one named by CHROMIUM.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
from collections.abc import Iterator

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from . import paths

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = paths.DOCS / "_static" / "screenshots"


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("No Chromium found: install the `chromium` package or set CHROMIUM=/path/to/chromium.")
    return path


def screenshot_folder(scratch: pathlib.Path) -> pathlib.Path:
    """The docs' screenshot folder under `nox -s screenshots`, else a scratch folder."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return scratch


@contextlib.contextmanager
def browser() -> Iterator[Browser]:
    """One headless Chromium, closed afterwards; open many pages in it (starting Chromium takes a second)."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@contextlib.contextmanager
def page(scale: float = 1) -> Iterator[Page]:
    """A fresh browser page, 1280x800 (`scale` device pixels per CSS pixel), closed afterwards."""
    with browser() as instance:
        yield instance.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=scale)


def screenshot_around(page: Page, selector: str, path: pathlib.Path, margin: int = 24) -> None:
    """A picture of one element and a margin around it, not of the whole window."""
    box = page.locator(selector).bounding_box()
    assert box, f"{selector} is not on the page"
    left, top = max(box["x"] - margin, 0), max(box["y"] - margin, 0)
    page.screenshot(
        path=str(path),
        clip={"x": left, "y": top, "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin},
    )


# Every <img> has finished: loaded, or failed. Those that failed (or still wait) have no natural width.
IMAGES_SETTLED = "() => [...document.images].every(image => image.complete)"
BROKEN_IMAGES = "() => [...document.images].filter(image => image.naturalWidth === 0).map(image => image.src)"


def broken_images(page: Page, timeout: float = 30_000) -> list[str]:
    """The addresses of the page's images that did not load within `timeout` ms."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(IMAGES_SETTLED, timeout=timeout)
    return page.evaluate(BROKEN_IMAGES)
