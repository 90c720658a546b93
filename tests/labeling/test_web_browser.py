"""The labeling page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Set ``PREFRL_SCREENSHOT=page.png`` to keep a screenshot of the page with its rendered Hopper clips.
"""

import os
import re
import sqlite3
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no {CHROMIUM} (apt-get install chromium)")

PLAYING = """() => {
    const videos = [...document.querySelectorAll('.frame video')];
    return videos.length === 2 && videos.every(v => v.readyState >= 2 && !v.paused && v.currentTime > 0);
}"""


@pytest.fixture
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def server(hopper_run):
    from prefrl.labeling.web.server import LabelServer

    with LabelServer(hopper_run(pairs=4, clip_steps=30), budget=700, port=0) as server:
        yield server


def answers(server):
    with sqlite3.connect(server.store.path) as db:
        return db.execute("SELECT query_id, preference, labeler FROM answers ORDER BY query_id").fetchall()


def shown(page):
    return int(page.get_attribute("body", "data-query-id") or 0)


def press_and_wait(page, key, expected_next):
    page.keyboard.press(key)
    page.wait_for_function(f"document.body.dataset.queryId === '{expected_next}'", timeout=10_000)


def test_label_with_the_keyboard(browser, server):
    page = browser.new_page(viewport={"width": 1100, "height": 620})
    page.add_init_script("localStorage.setItem('prefrl-labeler', 'ann')")  # the name typed on an earlier visit
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)  # both clips decode and play (H.264 in Chromium)
    assert page.text_content("#instruction").startswith("Move to the right")
    assert shown(page) == 4  # the most uncertain pair first
    if os.environ.get("PREFRL_SCREENSHOT"):
        page.wait_for_timeout(300)
        page.screenshot(path=os.environ["PREFRL_SCREENSHOT"])

    press_and_wait(page, "ArrowLeft", 3)
    press_and_wait(page, "ArrowUp", 2)
    press_and_wait(page, "ArrowDown", 1)
    page.wait_for_function("document.querySelector('#progress').textContent.includes('s per answer: about 1 min')")
    press_and_wait(page, "Backspace", 2)  # undo: "can't tell" on pair 2 is taken back, pair 2 is shown again
    press_and_wait(page, "ArrowRight", 1)
    page.click("#left")
    page.wait_for_function("document.body.dataset.queryId === ''")
    assert page.is_visible("#empty")
    assert answers(server) == [(1, "left", "ann"), (2, "right", "ann"), (3, "equal", "ann"), (4, "left", "ann")]
    page.wait_for_function("document.querySelector('#progress').textContent.includes('4 labels of 700')")
    assert "0 pairs waiting" in page.text_content("#progress")


def test_next_pair_is_preloaded(browser, server):
    """After an answer the next pair is already playable: it shows and plays with no wait for the network."""
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    page.wait_for_function("() => [...document.querySelectorAll('video')].length >= 2")
    page.wait_for_timeout(500)  # let the preloaded pair buffer, as a labeler watching for 3 s would
    start = time.monotonic()
    press_and_wait(page, "ArrowLeft", 3)
    page.wait_for_function(PLAYING, timeout=5_000)
    assert time.monotonic() - start < 1.0
    ((query_id, preference, labeler),) = answers(server)
    assert (query_id, preference) == (4, "left") and re.fullmatch("human-[a-z]{5}", labeler)


def test_two_browsers_get_names_and_pairs_of_their_own(browser, server):
    pages = [browser.new_context().new_page() for _ in range(2)]  # two people: two browser profiles
    for page in pages:
        page.goto(server.url)
        page.wait_for_function(PLAYING, timeout=20_000)
    names = [page.input_value("#labeler") for page in pages]
    assert names[0] != names[1] and all(re.fullmatch("human-[a-z]{5}", n) for n in names)
    assert shown(pages[0]) != shown(pages[1])
    pages[0].reload()
    assert pages[0].input_value("#labeler") == names[0]  # kept for the next visit


def test_a_clicked_button_does_not_keep_the_focus(browser, server):
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    page.click("#left")
    page.wait_for_function("document.body.dataset.queryId === '3'", timeout=10_000)
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("Space")  # would have answered pair 3 "left" had the button kept the focus
    page.wait_for_timeout(300)
    assert [a[:2] for a in answers(server)] == [(4, "left")]


def test_the_page_says_when_every_label_is_in(browser, hopper_run):
    from prefrl.labeling.web.server import LabelServer

    with LabelServer(hopper_run(pairs=2, clip_steps=30), budget=2, port=0) as server:
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_function(PLAYING, timeout=20_000)
        press_and_wait(page, "ArrowLeft", 1)
        press_and_wait(page, "ArrowRight", "")
        page.wait_for_function("document.querySelector('#empty').textContent.includes('All 2 labels are in')")
        assert page.is_visible("#empty")


def answer_while_the_server_is_down(browser, run, key):
    """Open the page on a server for ``run``, stop the server (the trainer ended), press ``key``; returns the page,
    its labeler name and the server's port once the page says the answer is kept."""
    from prefrl.labeling.web.server import LabelServer

    first = LabelServer(run, budget=700, port=0).start()
    page = browser.new_page()
    page.goto(first.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    labeler, port = page.input_value("#labeler"), first.port
    first.stop()
    page.keyboard.press(key)
    page.wait_for_function("document.querySelector('#message').textContent.includes('kept')", timeout=10_000)
    return page, labeler, port


def test_an_answer_given_after_the_server_stopped_is_sent_when_it_is_back(browser, hopper_run):
    from prefrl.labeling.web.server import LabelServer

    run = hopper_run(pairs=3, clip_steps=30)
    page, labeler, port = answer_while_the_server_is_down(browser, run, "ArrowLeft")
    message = page.text_content("#message")
    assert str(run) in message and "prefrl label" in message
    with LabelServer(run, budget=700, port=port) as second:  # prefrl label RUN_DIR
        page.wait_for_function("document.body.dataset.queryId === '2'", timeout=20_000)
        assert answers(second) == [(3, "left", labeler)]


def test_a_kept_answer_is_sent_even_while_the_page_looks_for_more_pairs(browser, hopper_run):
    # One pair only: the page keeps asking for a second one every second, and that must not cancel the resend.
    from prefrl.labeling.web.server import LabelServer

    run = hopper_run(pairs=1, clip_steps=30)
    page, labeler, port = answer_while_the_server_is_down(browser, run, "ArrowRight")
    with LabelServer(run, budget=700, port=port) as second:
        page.wait_for_function("document.querySelector('#message').textContent.includes('Saved')", timeout=20_000)
        assert answers(second) == [(1, "right", labeler)]


def test_a_closed_tab_gives_its_pairs_back_at_once(browser, server):
    gone = browser.new_context().new_page()
    gone.goto(server.url)
    gone.wait_for_function(PLAYING, timeout=20_000)
    gone.wait_for_function("() => document.querySelectorAll('video').length >= 2")
    held = shown(gone)
    gone.close(run_before_unload=True)  # pagehide: the page gives back the pair shown and the one preloaded
    page = browser.new_context().new_page()
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    assert shown(page) == held  # not the next one: the closed tab's leases are gone


def test_a_pair_watched_longer_than_its_lease_stays_with_its_page(browser, hopper_run):
    from prefrl.labeling.web.server import LabelServer

    with LabelServer(hopper_run(pairs=1, clip_steps=30), budget=700, port=0, lease_seconds=1.5) as server:
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_function(PLAYING, timeout=20_000)
        time.sleep(4)  # the page renews the lease every 0.5 s
        other = page.context.request.post(server.url.split("?")[0] + "api/next", data={"labeler": "bob"})
        assert other.ok and other.json()["pair"] is None  # the only pair is still the page's
        press_and_wait(page, "ArrowLeft", "")
        assert [labeler for _, _, labeler in answers(server)] == [page.input_value("#labeler")]


def test_pause_replay_and_half_speed(browser, server):
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    videos = "[...document.querySelectorAll('.frame video')]"
    assert page.evaluate(f"{videos}.map(v => v.duration)") == [1.5, 1.5]  # the paper's 1.5 s on screen
    page.keyboard.press("s")
    assert page.evaluate(f"{videos}.map(v => v.playbackRate)") == [0.5, 0.5]
    page.keyboard.press("p")
    assert page.evaluate(f"{videos}.every(v => v.paused)")
    page.wait_for_timeout(200)
    assert shown(page) == 4 and answers(server) == []  # controls answer nothing
    page.keyboard.press("r")
    page.wait_for_function(f"{videos}.every(v => !v.paused && v.currentTime < 1.0)", timeout=5_000)
    press_and_wait(page, "ArrowLeft", 3)
    page.wait_for_function(PLAYING, timeout=10_000)
    assert page.evaluate(f"{videos}.map(v => v.playbackRate)") == [0.5, 0.5]  # half speed stays on


def test_a_phone_shows_the_clips_one_above_the_other(browser, server):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    left, right = (page.locator(f"#{side}-frame").bounding_box() for side in ("left", "right"))
    assert left["width"] > 330 and right["width"] > 330  # nearly the screen's width each (was 171 px)
    assert right["y"] >= left["y"] + left["height"]


def test_a_bad_name_is_explained_and_the_old_one_kept(browser, server):
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_function(PLAYING, timeout=20_000)
    before = page.input_value("#labeler")
    page.fill("#labeler", "<script>")
    page.press("#labeler", "Enter")
    page.dispatch_event("#labeler", "change")
    assert "letters, digits" in page.text_content("#message") and page.input_value("#labeler") == before
