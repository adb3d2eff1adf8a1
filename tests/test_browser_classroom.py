"""The page in a real classroom, in Chromium: a projector at 1920×1080 read from the back of the room, phones at
390×844 with touch, and a class playing together (a teacher's projector, three phones posting to its wall).

Its own server (serve.py as `make demo` runs it), with the class store in a temporary folder and a public URL set,
so that the join link and its QR code are the same on any machine.
"""
import pytest
from playwright.sync_api import Page

from conftest import free_ports, serve_app
from test_browser import WAIT, shots, swipe, wait_headline  # noqa: F401  shots: a fixture

pytestmark = pytest.mark.slow  # a browser and a served app


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    port = free_ports(1)
    with serve_app(port, {"VACDEMO_CLASSROOM_DIR": str(tmp_path_factory.mktemp("classroom")),
                          "VACDEMO_PUBLIC_URL": f"http://192.168.7.10:{port}"}) as url:
        yield url


def font_px(page: Page, selector: str) -> list[float]:
    """The rendered font size of every visible element matching selector."""
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.offsetParent !== null)"
                                               ".map(e => parseFloat(getComputedStyle(e).fontSize))")


def test_the_projector_is_legible_from_the_back_of_the_room(class_server, browser, shots):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(class_server + "/?present=1&eps_mnist_inf=0.15")
    wait_headline(page, "(ε = 0.150)")
    page.locator('img[alt^="after: "]').wait_for(timeout=WAIT)
    before, after = (page.locator(f'img[alt^="{w}: "]').first.bounding_box() for w in ("before", "after"))
    assert after["x"] + after["width"] - before["x"] >= 1920 / 2  # the pair fills half the width at least
    captions = font_px(page, "figcaption")
    assert captions and min(captions) >= 28, captions  # every caption
    assert min(font_px(page, '[data-testid="stMain"] [data-testid="stSliderThumbValue"]')) >= 28  # the ε
    verdict = page.locator('[data-testid="stAlert"]', has_text="(ε = ").first
    assert float(verdict.locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 32
    # charts are SVG drawn in <img>: their 12 px text renders at 12 × rendered width / intrinsic width
    scales = page.eval_on_selector_all('img[src^="data:image/svg+xml"]',
                                       "els => els.map(e => e.getBoundingClientRect().width / e.naturalWidth)")
    assert scales and min(scales) * 12 >= 20, scales
    # the join link: the public URL set for this server, never loopback; the QR folds away
    page.get_by_text("Join from your phone").wait_for(timeout=WAIT)
    assert page.get_by_text("http://192.168.7.10:").count() >= 1
    assert page.locator('img[width="260"]').count() == 1
    page.screenshot(path=str(shots / "screenshot-projector.png"))
    page.locator(".st-key-join_toggle button").click()
    page.get_by_text("Show the join code").wait_for(timeout=WAIT)
    assert page.get_by_text("Join from your phone").count() == 0
    page.close()


def test_on_a_phone_the_verdict_of_a_drawing_is_in_the_first_screen(class_server, browser, shots):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(class_server + "/?source=Draw")
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=WAIT)
    title = page.locator("h1").first.bounding_box()
    assert title["height"] <= 90  # a compact title on a narrow screen
    box = canvas.bounding_box()
    swipe(ctx.new_cdp_session(page), [(box["x"] + 60 + i * 7, box["y"] + 40 + i * 9) for i in range(20)])
    verdict = page.locator('[data-testid="stAlert"]', has_text="The model reads")
    verdict.first.wait_for(timeout=WAIT)
    page.evaluate("window.scrollTo(0, 0)")
    assert verdict.first.bounding_box()["y"] + 40 <= 844  # under the finger, not below the fold
    assert page.locator('img[alt^="attacked: "]').first.bounding_box()["y"] < 844 + 200
    page.screenshot(path=str(shots / "screenshot-phone.png"))
    for sel in ('[data-testid="stExpandSidebarButton"]',):
        b = page.locator(sel).first.bounding_box()
        assert b is None or min(b["width"], b["height"]) >= 44, (sel, b)
    ctx.close()


def test_a_class_plays_together(class_server, browser, shots):
    """A teacher's projector and three phones: each posts, all three appear on the wall, a hidden one goes, and
    a student sees no teacher's controls."""
    teacher = browser.new_page(viewport={"width": 1920, "height": 1080})
    teacher.goto(class_server + "/?present=1")
    teacher.locator(".st-key-class_start button:visible").first.click(timeout=WAIT)
    teacher.wait_for_function("() => new URLSearchParams(location.search).get('class')", timeout=WAIT)
    code = teacher.evaluate("() => new URLSearchParams(location.search).get('class')")
    assert "teacher" not in teacher.url  # the key stays in the teacher's session, off the projected address bar
    teacher.get_by_text(f"Class {code}").first.wait_for(timeout=WAIT)
    phones = []
    for i, nick in enumerate(["Ann", "<b>Bob</b>", "Cleo"]):
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = ctx.new_page()
        page.goto(f"{class_server}/?class={code}&cls_mnist={i + 1}&eps_mnist_inf=0.15")
        page.locator(".st-key-class_nick input").first.wait_for(timeout=WAIT, state="attached")
        page.locator(".st-key-class_nick input").first.fill(nick)
        page.locator(".st-key-class_nick input").first.press("Enter")
        page.locator(".st-key-class_send button:visible").first.click(timeout=WAIT)
        page.get_by_text("Sent to the class").first.wait_for(timeout=WAIT)
        assert page.get_by_text("Controls for the teacher").count() == 0  # no controls without the key
        phones.append(ctx)
    # all three on the wall, within 10 s of the last post (the wall refreshes itself every second)
    teacher.wait_for_function("() => document.body.innerText.includes('3 attempts')", timeout=10_000)
    assert teacher.get_by_text("<b>Bob</b>").count() >= 1  # a name shown as text, never as HTML
    # the wall is legible from the back of the room too: captions ≥ 28 px, chart text ≥ 20 px as rendered
    assert min(font_px(teacher, "figcaption")) >= 28
    scales = teacher.eval_on_selector_all('img[src^="data:image/svg+xml"]',
                                          "els => els.map(e => e.getBoundingClientRect().width / e.naturalWidth)")
    assert min(scales) * 12 >= 20, scales
    teacher.screenshot(path=str(shots / "screenshot-wall.png"))
    teacher.get_by_text("Controls for the teacher").first.click(timeout=WAIT)
    teacher.locator(".st-key-class_hide_attempt button:visible").first.click(timeout=WAIT)
    teacher.wait_for_function("() => document.body.innerText.includes('2 attempts')", timeout=10_000)
    for ctx in phones:
        ctx.close()
    teacher.close()
