"""``report.html`` in a real headless browser: it renders, and clicking a header sorts the table.

The gradebook is built from records written by hand (no grading), then the page is
opened from disk in Debian's Chromium, driven through ChromeDriver.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.batch.gradebook import build_gradebook
from grader.batch.record import StudentRecord
from grader.batch.store import ExerciseColumn, Layout, Manifest
from grader.model import CheckResult, CheckStatus, ExerciseResult, ExerciseStatus, Report

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402 - only once importorskip found selenium
from selenium.webdriver.common.by import By  # noqa: E402 - as above
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402 - as above

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")

# student: (name, score of 01_a, score of 02_b)
CLASS = {
    "s1": ("Zoe", 10.0, 10.0),
    "s2": ("<b>Ann</b>", 4.0, 0.0),
    "s3": ("Bob", 10.0, 3.0),
    "s4": ("Cy", 0.0, 0.0),
    "s5": ("Eve", 7.0, 10.0),
}


def exercise(exercise_id: str, score: float) -> ExerciseResult:
    passed = score == 10
    check = CheckResult("works", "it works", CheckStatus.PASSED if passed else CheckStatus.FAILED, score, 10.0)
    status = ExerciseStatus.PASSED if passed else ExerciseStatus.FAILED
    return ExerciseResult(exercise_id, exercise_id.upper(), status, score, 10.0, [check])


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layout = Layout(tmp_path_factory.mktemp("report") / "out")
    layout.create()
    columns = [ExerciseColumn("01_a", "First", 10.0), ExerciseColumn("02_b", "Second", 10.0)]
    layout.write_manifest(Manifest("toy", "A toy course", "fingerprint", columns, []))
    for student, (name, first, second) in CLASS.items():
        report = Report([exercise("01_a", first), exercise("02_b", second)], kit="toy", submission=f"work/{student}/submission")
        layout.write_record(StudentRecord(student, name, "key", report))
    build_gradebook(layout)
    return layout.report_html


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def column(driver: WebDriver, index: int) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#students-table tbody tr")
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in rows]


def click_header(driver: WebDriver, label: str) -> None:
    header = driver.find_element(By.XPATH, f"//table[@id='students-table']//th/button[normalize-space()='{label}']")
    header.click()


def test_the_page_renders_the_class(browser: WebDriver, page: Path) -> None:
    browser.get(page.as_uri())
    assert browser.title == "Class report: A toy course"
    assert column(browser, 0) == ["s1", "s2", "s3", "s4", "s5"]
    assert column(browser, 1) == ["Zoe", "<b>Ann</b>", "Bob", "Cy", "Eve"]
    assert column(browser, 2) == ["20", "4", "13", "0", "17"]
    failed = browser.find_elements(By.CSS_SELECTOR, "#failed-checks tbody tr")
    assert [r.text.split("\n")[0] for r in failed] == ["01_a it works (works) 3 60%", "02_b it works (works) 3 60%"]
    bars = browser.find_elements(By.CSS_SELECTOR, ".distribution")
    assert [b.get_attribute("data-exercise") for b in bars] == ["total", "01_a", "02_b"]
    external = browser.execute_script(
        "return Array.from(document.querySelectorAll('[src],[href]:not([href^=\"feedback/\"])')).length"
    )
    assert external == 0


def test_clicking_a_header_sorts_the_table(browser: WebDriver, page: Path) -> None:
    browser.get(page.as_uri())
    click_header(browser, "Total")
    assert column(browser, 2) == ["0", "4", "13", "17", "20"]
    click_header(browser, "Total")
    assert column(browser, 2) == ["20", "17", "13", "4", "0"]
    assert column(browser, 0) == ["s1", "s5", "s3", "s2", "s4"]
    click_header(browser, "Name")
    assert column(browser, 1) == ["<b>Ann</b>", "Bob", "Cy", "Eve", "Zoe"]
    click_header(browser, "02_b")
    assert column(browser, 0) == ["s2", "s4", "s3", "s1", "s5"]  # ties keep the student order
    sorted_by = browser.find_element(By.CSS_SELECTOR, "th[aria-sort]")
    assert (sorted_by.text, sorted_by.get_attribute("aria-sort")) == ("02_b", "ascending")
