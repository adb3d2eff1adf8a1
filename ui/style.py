"""The page's own CSS: crisp pixels, finger-sized controls on phones, a compact title where the screen is narrow,
and no Stop button (stopping a run left the page half drawn until the next click)."""
import streamlit as st

NARROW = "(max-width: 640px)"  # phones held upright (390 px wide and the like)

PAGE = f"""<style>
img {{image-rendering: pixelated;}}
.st-key-canvas_undo button, .st-key-canvas_clear button {{min-height: 48px}}
[data-testid=stStatusWidget] button {{display: none}}
.vac-phone-only {{display: none}}
@media {NARROW} {{
  .vac-phone-only {{display: block; color: #555; font-size: 0.9rem}}
  [data-testid=stMainBlockContainer] {{padding-top: 3.5rem}}
  [data-testid=stMainBlockContainer] h1 {{font-size: 1.6rem; padding: 0.2rem 0}}
  [data-testid=stSlider] [role=slider] {{width: 44px; height: 44px}}
  [data-testid=stRadio] label, [data-testid=stCheckbox] label {{min-height: 44px; align-items: center}}
  [data-testid=stExpandSidebarButton], [data-testid=stSidebarCollapseButton] button {{min-width: 44px;
    min-height: 44px}}
  [data-testid=stBaseButton-secondary], [data-testid=stBaseButton-primary],
  [data-testid=stBaseButton-segmented_control] {{min-height: 44px}}
}}
</style>"""


def page_style() -> None:
    st.html(PAGE)


def phone_only(html: str) -> None:
    """A line shown on narrow screens only."""
    st.html(f'<div class="vac-phone-only">{html}</div>')


FOLD = """<script>
const d = window.parent.document;  // the page (this script runs in a same-origin frame of zero height)
if (window.parent.innerWidth <= 640) {
  const b = d.querySelector('[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebarCollapseButton"]');
  if (b && d.querySelector('[data-testid="stSidebar"][aria-expanded="true"]')) b.click();
}
</script>"""


def fold_sidebar_on_phones() -> None:
    """After the student chose to draw: on a narrow screen the sidebar covers the canvas, so fold it away."""
    if st.session_state.pop("fold_sidebar", False):
        import streamlit.components.v1 as components
        components.html(FOLD, height=0)
