"""The lesson walked on a phone in Chromium, step 1 to 7 with Next, each step opening with what it says; and the
lab's own PNG download, uploaded to "Is this picture attacked?", read pixel for pixel and still fooling the model."""
import pytest

from ui.lesson import STEPS

pytestmark = pytest.mark.slow  # a browser and a served app (conftest.py)

WAIT = 90_000  # ms


def card_title(page, title: str) -> None:
    page.locator("[data-testid=stHeading]", has_text=title).first.wait_for(timeout=WAIT)


def test_a_student_follows_the_lesson_alone_on_a_phone(server, browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server + "/?lesson=1")
    for n, step in enumerate(STEPS, 1):
        card_title(page, step.title)
        if n == 1:
            page.locator("canvas.upper-canvas").wait_for(timeout=WAIT)  # set up to draw
        elif n == 6:
            page.get_by_text("queries of its", exact=False).first.wait_for(timeout=WAIT)  # Square ran
        elif n == 7:
            page.get_by_text("adversarially trained", exact=False).first.wait_for(timeout=WAIT)
        else:
            page.locator("[data-testid=stAlert]", has_text="(ε = ").first.wait_for(timeout=WAIT)
        if n == 5:
            page.locator("[data-testid=stAlert]", has_text="(ε = ").first.wait_for(timeout=WAIT)
            chosen = page.locator("label:has(input:checked)", has_text="evade the detector")  # the goal, set
            chosen.first.wait_for(state="attached", timeout=WAIT)
        button = page.locator("button", has_text="Finish" if n == len(STEPS) else "Next").first
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390  # a finger's target
        button.tap()
    page.locator("button:visible", has_text="Take the lesson").first.wait_for(timeout=WAIT)  # finished: the lab
    ctx.close()


def test_the_labs_download_is_checked_pixel_for_pixel(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "/?eps_mnist_inf=0.15")
    page.locator("[data-testid=stAlert]", has_text="the model now says").first.wait_for(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as got:
        page.locator("button", has_text="PNG (8-bit)").first.click()
    png = tmp_path / got.value.suggested_filename
    got.value.save_as(png)
    page.goto(server + "/?view=Is+this+picture+attacked%3F")
    page.get_by_text("Upload any picture", exact=False).first.wait_for(timeout=WAIT)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(str(png))
    alert = page.locator("[data-testid=stAlert]")
    alert.filter(has_text="still fools the model").first.wait_for(timeout=WAIT)
    assert alert.filter(has_text="Alarm on").count() == 1
    assert page.locator("[data-testid=stCaptionContainer]", has_text="read pixel for pixel").count() == 1
    page.close()
