"""`ledgerstream report --serve` in a real browser: headless Chromium driven by Selenium 4 (Debian's chromium and
chromedriver), on ledgers the real pipeline filled.

Covered: the page loads with no console warning or error (its script and style sheet pass the Content-Security-
Policy), the five views show the sample's values and the live status says Live; the period form narrows the table and
the charts, a column header sorts (and sorts back); a transaction produced while a sink runs appears without a reload,
including one announced while the page was still fetching the previous change, and after the server restarted on
the same port (its versions numbered afresh) the page catches up with what the sink applied meanwhile; the desk: logging in with the token,
opening an account, the shell's refusals for "abc" and an overdraft, a deposit applied with the new balance shown;
phone width (375 px): no horizontal scrolling of the page (tables scroll in their own box) and the first Tab focuses
the skip link. Screenshots of each state go to $LEDGERSTREAM_TEST_ARTIFACTS (default .build/test-artifacts)/dashboard.

The ledgers, sinks and servers come from test_dashboard_http's helpers. Skipped without selenium, chromium or
chromedriver.
"""
import os
import shutil
import tempfile

import pytest

webdriver = pytest.importorskip("selenium.webdriver")

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import interop_util as u  # noqa: E402
import test_dashboard_http as web  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(90)

ARTIFACTS = web.ARTIFACTS


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures: the ledgers and servers of test_dashboard_http, and a browser

@pytest.fixture(scope="module")
def sample(module_broker):
    directory = tempfile.mkdtemp(prefix="ledgerstream-interop-browser-")
    yield web.load_sample(module_broker, directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def viewer(sample):
    """A dashboard (desk off) of the sample ledger, for the tests that only read."""
    server = web.serve(sample[0])
    yield server
    server.stop()


@pytest.fixture
def live(module_broker, sample, data_dir, processes):
    return web.LiveLedger(module_broker, sample[0], data_dir, processes)


@pytest.fixture
def dashboard(live):
    server = web.serve(live.db)
    yield server
    server.stop()


@pytest.fixture
def desk(live, module_broker, monkeypatch):
    """The desk on, its token from $LEDGERSTREAM_DESK_TOKEN (the HTTP tests use --desk-token-file)."""
    monkeypatch.setenv("LEDGERSTREAM_DESK_TOKEN", web.TOKEN)
    server = web.serve(live.db, "--desk", "--topic", live.topic, "-b", module_broker.address, "--apply-timeout", "5",
                       name="desk")
    yield server
    server.stop()


def start_browser(width=1280, height=2000):
    """A headless chromium with a profile directory of its own, which `quit_browser` removes (chromium leaves the
    profile it makes for itself in /tmp)."""
    profile = tempfile.mkdtemp(prefix="ledgerstream-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.profile_directory = profile
    driver.set_page_load_timeout(20)
    return driver


def quit_browser(driver):
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver.profile_directory, ignore_errors=True)


@pytest.fixture
def browser():
    driver = start_browser()
    yield driver
    quit_browser(driver)


# ---------------------------------------------------------------------------------------------------------------------
# Helpers

def url(server, path="/"):
    return f"http://127.0.0.1:{server.port}{path}"


def wait(driver, condition, timeout=10, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]).until(
        condition, message)


# Reads are single scripts, so the views being swapped by a live update cannot happen between finding and reading.

def text_of(driver, selector):
    return driver.execute_script("return document.querySelector(arguments[0]).innerText.trim()", selector)


def texts(driver, selector):
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim())", selector)


def table_rows(driver):
    """The transactions table's rows as lists of cell texts."""
    return driver.execute_script("""return [...document.querySelectorAll('#transactions table.entries tbody tr')]
        .map(row => [...row.querySelectorAll('td')].map(cell => cell.innerText.trim()))""")


def views_version(driver):
    return driver.execute_script("return document.getElementById('views').dataset.version")


def svg_texts(driver, selector):
    """The <text> contents of an SVG chart (textContent: Selenium's .text is empty for some SVG text)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' text')].map(t => t.textContent)", selector)


def wait_live(driver):
    wait(driver, lambda d: text_of(d, "#live").startswith("Live:"), message="the page following the ledger")


def console_problems(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def screenshot(driver, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver.save_screenshot(os.path.join(ARTIFACTS, f"{name}.png"))


# ---------------------------------------------------------------------------------------------------------------------
# The views

def test_page_shows_the_sample_and_filters_and_sorts(browser, viewer):
    browser.get(url(viewer))
    wait_live(browser)
    for section in ("transactions", "heatmap", "bars", "balances", "reconciliation"):
        assert browser.find_element(By.CSS_SELECTOR, f"main section#{section}").is_displayed(), section
    assert text_of(browser, "#size") == "5 entries, 2 accounts"
    rows = table_rows(browser)
    assert [row[:5] for row in rows] == [
        ["2024-01-05 00:00:00", "C100", "withdrawal", "145.00", "830.00"],
        ["2024-01-04 00:00:00", "C100", "withdrawal", "25.00", "975.00"],
        ["2024-01-03 00:00:00", "C200", "withdrawal", "200.00", "2,300.00"],
        ["2024-01-02 00:00:00", "C200", "deposit", "2,500.00", "2,500.00"],
        ["2024-01-01 00:00:00", "C100", "deposit", "1,000.00", "1,000.00"],
    ]
    # The heatmap writes its counts in the cells, the bars their amounts, the balance figures their range.
    assert svg_texts(browser, "#heatmap-chart") == ["deposit", "withdrawal", "C100", "1", "2", "C200", "1", "1"]
    assert svg_texts(browser, "#bars-chart") == ["C100", "deposited 1,000.00", "withdrawn 170.00",
                                                 "C200", "deposited 2,500.00", "withdrawn 200.00"]
    assert texts(browser, "#balances figcaption") == ["C100 · 3 entries · 1,000.00 → 830.00",
                                                      "C200 · 2 entries · 2,500.00 → 2,300.00"]
    assert "No balance mismatches and no negative balances." in text_of(browser, "#reconciliation")
    assert console_problems(browser) == []
    screenshot(browser, "page")

    # The period form: the table and the charts follow it.
    period = browser.find_element(By.ID, "period")
    # Date inputs take keys in the browser's locale; set their values as the date picker would.
    browser.execute_script("arguments[0].value = '2024-01-02'; arguments[1].value = '2024-01-04';",
                           period.find_element(By.NAME, "from"), period.find_element(By.NAME, "to"))
    period.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: "to=2024-01-04" in d.current_url and len(table_rows(d)) == 3, message="the period's rows")
    assert "from=2024-01-02" in browser.current_url
    assert [row[0] for row in table_rows(browser)] == ["2024-01-04 00:00:00", "2024-01-03 00:00:00", "2024-01-02 00:00:00"]
    assert "2024-01-02 to 2024-01-04 · rows 1–3 of 3" in text_of(browser, "#transactions")
    assert svg_texts(browser, "#heatmap-chart") == ["deposit", "withdrawal", "C100", "0", "1", "C200", "1", "1"]
    assert texts(browser, "#balances figcaption") == ["C100 · 1 entry · 975.00 → 975.00",
                                                      "C200 · 2 entries · 2,500.00 → 2,300.00"]
    wait_live(browser)
    screenshot(browser, "period")

    # Sorting by a column header keeps the period; a second click reverses the order.
    browser.find_element(By.LINK_TEXT, "Amount").click()
    wait(browser, lambda d: "sort=amount" in d.current_url, message="the table sorted by amount")
    assert "from=2024-01-02" in browser.current_url and "dir=asc" in browser.current_url
    assert [row[3] for row in table_rows(browser)] == ["25.00", "200.00", "2,500.00"]
    assert browser.execute_script("const th = document.querySelector('th[aria-sort]');"
                                  "return [th.innerText.trim(), th.getAttribute('aria-sort')]") == ["Amount ▲", "ascending"]
    browser.find_element(By.LINK_TEXT, "Amount ▲").click()
    wait(browser, lambda d: "dir=desc" in d.current_url, message="the table sorted by amount, descending")
    assert [row[3] for row in table_rows(browser)] == ["2,500.00", "200.00", "25.00"]
    wait_live(browser)
    screenshot(browser, "sorted")
    assert console_problems(browser) == []


def test_a_produced_transaction_appears_without_a_reload(browser, live, dashboard):
    browser.get(url(dashboard))
    wait_live(browser)
    browser.execute_script("window.__marker = 1;")
    # Hold every /views response for 1.5 s after the server answered it, as a slow render of a big ledger would: a
    # change announced meanwhile must still reach the page once that refresh is done.
    browser.execute_script("""
        const fetchNow = window.fetch; window.__views = 0;
        window.fetch = async function (resource, init) {
          const response = await fetchNow(resource, init);
          if (String(resource).startsWith('/views')) { window.__views++; await new Promise(r => setTimeout(r, 1500)); }
          return response;
        };""")
    live.add("C300", 4250, date="2024-02-01 09:30:00")
    wait(browser, lambda d: d.execute_script("return window.__views") >= 1, message="the page fetching the new views")
    live.add("C100", -1234, date="2024-02-02 10:00:00")
    wait(browser, lambda d: len(table_rows(d)) == 7, timeout=15, message="both new transactions in the table")
    assert [row[:5] for row in table_rows(browser)[:2]] == [
        ["2024-02-02 10:00:00", "C100", "withdrawal", "12.34", "817.66"],
        ["2024-02-01 09:30:00", "C300", "deposit", "42.50", "42.50"],
    ]
    assert texts(browser, "#balances figcaption") == ["C100 · 4 entries · 1,000.00 → 817.66",
                                                      "C200 · 2 entries · 2,500.00 → 2,300.00",
                                                      "C300 · 1 entry · 42.50 → 42.50"]
    assert text_of(browser, "#size") == "7 entries, 3 accounts"
    assert text_of(browser, "#live").startswith("Live: 7 entries, updated ")
    assert browser.execute_script("return window.__marker") == 1, "the page was reloaded"
    # The page shows the server's latest version.
    views = web.get(dashboard, "/views").text
    assert f'data-version="{views_version(browser)}"' in views
    screenshot(browser, "live")
    assert console_problems(browser) == []


def test_the_page_catches_up_after_the_server_restarts(browser, live, dashboard):
    """A restarted server numbers its versions afresh: the page must refresh after reconnecting even when the first
    version it hears matches the one it shows, since the ledger may have changed meanwhile."""
    browser.get(url(dashboard))
    wait_live(browser)
    browser.execute_script("window.__marker = 1;")
    shown = views_version(browser)
    dashboard.stop()
    wait(browser, lambda d: text_of(d, "#live") == "Live updates interrupted; reconnecting…", message="the interruption")
    live.add("C200", 10000, date="2024-02-03 08:00:00")
    u.wait_until(lambda: web.sqlite_balance(live.db, "C200") == 240000, timeout=10, message="the sink applying it")
    dashboard.restart()  # on the same port
    wait(browser, lambda d: table_rows(d) and table_rows(d)[0][1:5] == ["C200", "deposit", "100.00", "2,400.00"],
         timeout=15, message="the deposit applied while the server was down")
    assert browser.execute_script("return window.__marker") == 1, "the page was reloaded"
    assert text_of(browser, "#live").startswith("Live: 6 entries")
    assert shown == "1" and views_version(browser) == "1"
    screenshot(browser, "restarted")
    # The console notes the stream's failed reconnections while the server was down; nothing else.
    problems = [entry["message"] for entry in console_problems(browser)]
    assert all("/events" in text for text in problems), problems


# ---------------------------------------------------------------------------------------------------------------------
# The desk

def test_desk_refuses_and_applies_like_the_shell(browser, live, desk):
    browser.get(url(desk, "/#desk"))
    wait_live(browser)
    login = browser.find_element(By.CSS_SELECTOR, "#desk form[action='/desk/login']")
    login.find_element(By.NAME, "token").send_keys(web.TOKEN)
    screenshot(browser, "desk-login")
    login.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    opener = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#desk input[name=desk]"),
                  message="the desk's account form after logging in")[0]
    opener.send_keys("C100")
    browser.find_element(By.XPATH, "//section[@id='desk']//button[normalize-space()='Open']").click()
    wait(browser, lambda d: d.find_elements(By.ID, "desk-balance"), message="the panel of C100")
    assert "desk=C100" in browser.current_url
    assert text_of(browser, "#desk-balance") == "830.00"
    message = browser.find_element(By.ID, "desk-message")

    def enter(amount, button):
        """Types an amount and presses Deposit or Withdraw; returns the desk's message once the reply is in."""
        field = browser.find_element(By.CSS_SELECTOR, "#desk-panel input[name=amount]")
        field.clear()
        field.send_keys(amount)
        browser.find_element(By.XPATH, f"//div[@id='desk-panel']//button[normalize-space()='{button}']").click()
        wait(browser, lambda d: message.text not in ("", "Sending…"), timeout=15, message=f"the desk's reply to {amount}")
        return message.text, message.get_attribute("class")

    assert enter("abc", "Deposit") == (web.NOT_AN_AMOUNT.format("abc"), "refused")
    assert enter("5000", "Withdraw") == (
        "refused: withdrawing 5,000.00 would take C100 below zero (balance 830.00)", "refused")
    screenshot(browser, "desk-refused")
    assert text_of(browser, "#desk-balance") == "830.00"
    assert enter("100.25", "Deposit") == ("deposit of 100.25 applied — C100 balance 930.25", "applied")
    wait(browser, lambda d: text_of(d, "#desk-balance") == "930.25", message="the panel's new balance")
    # The live views follow too.
    wait(browser, lambda d: table_rows(d) and table_rows(d)[0][1:5] == ["C100", "deposit", "100.25", "930.25"],
         message="the deposit in the transactions table")
    screenshot(browser, "desk-applied")
    assert web.get_json(desk, "/api/accounts")[0]["balance_cents"] == 93025
    # The refusals are 422 replies, which the console notes as failed loads; nothing else may appear there.
    problems = [entry["message"] for entry in console_problems(browser)]
    assert all("/desk/transaction" in text and "422" in text for text in problems), problems


# ---------------------------------------------------------------------------------------------------------------------
# Phone width and keyboard

def test_phone_width_and_the_skip_link(viewer):
    driver = start_browser(width=500, height=900)
    try:
        # Headless Chromium has a minimum window width of 500 px: emulate the phone's viewport instead.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True})
        driver.get(url(viewer))
        wait_live(driver)
        widths = driver.execute_script(
            "return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth}")
        assert widths["inner"] == 375, widths
        assert widths["scroll"] <= widths["inner"] + 1, widths
        # The table is wider than the phone: it scrolls inside its own box.
        box = driver.find_element(By.CSS_SELECTOR, "#transactions .scroll")
        assert driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", box)
        screenshot(driver, "phone")
        # The first Tab from the top focuses the skip link, shown on screen; Enter follows it.
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.switch_to.active_element
        assert (focused.tag_name, focused.get_attribute("class"), focused.text) == ("a", "skip", "Skip to the ledger")
        assert driver.execute_script("const r = arguments[0].getBoundingClientRect(); return r.left >= 0 && r.top >= 0",
                                     focused)
        screenshot(driver, "phone-skip-link")
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        wait(driver, lambda d: d.execute_script("return location.hash") == "#views", message="the skip link followed")
        assert console_problems(driver) == []
    finally:
        quit_browser(driver)
