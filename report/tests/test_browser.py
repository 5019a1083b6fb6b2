"""The rendered report in a real browser: Debian's headless Chromium driven through
chromium-driver and selenium. Every image loads, the console has no error, the verdict
and the matrix are in the page text; a screenshot is kept as an artifact
($MODEBENCH_ARTIFACTS, else report/tests/artifacts/).

Skipped only where Chromium is absent and CI is not set; in CI a missing browser fails."""

import json
import os
import pathlib
import re
import shutil

import pytest
import synth
from conftest import AA, FIXTURES, HERE

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
ARTIFACTS = pathlib.Path(os.environ.get("MODEBENCH_ARTIFACTS") or os.path.join(HERE, "artifacts"))


def _missing():
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER)) if not path]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    return missing


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        why = f"not installed: {', '.join(missing)} (ci/setup.sh installs them)"
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI; {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given: selenium never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def broken_images(driver):
    """alt (or src start) of every <img> that did not load."""
    return driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.alt || i.src.slice(0, 40));"
    )


def console_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def open_page(driver, path):
    driver.get(pathlib.Path(path).resolve().as_uri())
    return driver.find_element("tag name", "body").text


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of the committed real fixtures beside a synthetic multi-mode set."""
    from modebench_report.cli import main

    tmp = tmp_path_factory.mktemp("browser")
    synth.multimode_set(str(tmp / "gpu"), processes=3)
    probe = os.path.join(FIXTURES, "probe_binary.json")
    prof = tmp / "xtts.profile.json"
    prof.write_text(json.dumps(synth.profile_doc()))
    assert main(["render", os.path.join(AA, "A"), str(tmp / "gpu"), "--probe", probe, "--profile", str(prof),
                 "--out", str(tmp / "out")]) == 0
    return tmp / "out" / "index.html"


def test_report_in_chromium(browser, report):
    text = open_page(browser, report)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 100, 16000))
    shot = ARTIFACTS / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 0
    images = browser.execute_script("return document.images.length")
    assert images >= 1 and broken_images(browser) == []
    assert console_errors(browser) == []
    assert "Verdict: what to use on this box" in text and "square_1024: use cpu/onednn at batch 1" in text
    # each choice with its time and its lead over the runner-up
    assert re.search(r"square_1024: use cpu/onednn at batch 1–\d+: [0-9.]+–[0-9.]+ ms, up to [0-9.]+× faster than gpu/cublas ", text)
    # charts drawn at least 800 px wide in the page's 1 400 px
    widths = browser.execute_script(
        "return Array.from(document.images).filter(i => i.alt.includes('/')).map(i => i.getBoundingClientRect().width);"
    )
    assert widths and min(widths) >= 800, widths
    assert "Compatibility matrix" in text
    headers = [[th.text for th in t.find_elements("tag name", "th")] for t in browser.find_elements("css selector", "table.matrix")]
    assert headers == [["op", "impl", "cpu"], ["op", "impl", "cpu", "gpu", "ptx-jit", "hybrid"]]
    cell = browser.find_element("xpath", "//table[@class='matrix']//td[starts-with(., 'failed:no_kernel_image')]")
    assert cell.get_attribute("title").startswith("failed: no_kernel_image: CUBLAS_STATUS_ARCH_MISMATCH")
    # render --probe: the binary verdict table, reasons on hover
    assert "Will these binaries run? (modebench probe --binary)" in text
    no_image = browser.find_element("xpath", "//table[@class='binaries']//td[. = 'no image']")
    assert "CUDA_FORCE_PTX_JIT=1" in no_image.get_attribute("title")
    # render --profile: the model's totals and its layer table
    assert "Models: a placement plan per layer (modebench_policy.profile)" in text
    row = browser.find_element("xpath", "//section[@id='models']//td[. = 'blocks.0.qkv']/..")
    assert row.find_elements("tag name", "td")[-1].text == "cpu/torch"
    # the cost model and what the policy would do
    assert "Cost model: how well it predicts cases it did not see" in text and "What the policy would do" in text


def test_the_checks_see_a_broken_image(browser, report, tmp_path):
    """The image check can fail: a page with an undecodable image is caught."""
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text().replace("</body>", "<img alt='broken' src='data:image/png;base64,AAAA'></body>"))
    open_page(browser, broken)
    assert broken_images(browser) == ["broken"]


def test_simulated_run_in_chromium(browser, tmp_path):
    """A simulated device's run: the banner first, the matrix, and not one chart."""
    from modebench_report.cli import main
    from modebench_report.render import SIMULATED_BANNER

    synth.multimode_set(str(tmp_path / "sim"), processes=2, simulated=True)
    assert main(["render", str(tmp_path / "sim"), "--out", str(tmp_path / "out")]) == 0
    text = open_page(browser, tmp_path / "out" / "index.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report-simulated.png"))
    assert console_errors(browser) == []
    assert text.splitlines()[1] == SIMULATED_BANNER  # right under the title
    assert browser.find_element("id", "simulated").is_displayed()
    assert "Compatibility matrix" in text and browser.execute_script("return document.images.length") == 0
    assert "Verdict" not in text and "Charts" not in text


def test_contended_run_in_chromium(browser, tmp_path):
    """A run with one contended process of 4: the banner opens the page, names the process and its
    slowdown, and the verdict under it still gives each choice's time and margin."""
    from modebench_report.cli import main
    from modebench_report.render import CONTENDED_BANNER
    from test_contention import contended_set

    contended_set(str(tmp_path / "busy"), processes=4, contended=(1,))
    assert main(["render", str(tmp_path / "busy"), "--out", str(tmp_path / "out")]) == 0
    text = open_page(browser, tmp_path / "out" / "index.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 100, 16000))
    assert browser.save_screenshot(str(ARTIFACTS / "report-contended.png"))
    assert console_errors(browser) == [] and broken_images(browser) == []
    banner = browser.find_element("id", "contended")
    assert banner.is_displayed() and CONTENDED_BANNER in banner.text
    assert re.search(r"p1\.json 10 of 10 1\.40 \d+× the quiet processes' median \(up to (39|40)×\)", banner.text), banner.text
    verdict = browser.find_element("xpath", "//h2[contains(., 'Verdict: what to use on this box')]")
    assert banner.location["y"] < verdict.location["y"]  # the banner comes first
    assert re.search(r"sq: use cpu/a at batch 1–\d+: [0-9.]+–[0-9.]+ ms, [0-9.]+× faster than cpu/b, but under load cpu/b was "
                     r"[0-9.]+× faster \(batch 1\): this choice holds on a quiet machine", text)
    widths = browser.execute_script(
        "return Array.from(document.images).filter(i => i.alt.includes('/')).map(i => i.getBoundingClientRect().width);"
    )
    assert widths and min(widths) >= 800, widths
