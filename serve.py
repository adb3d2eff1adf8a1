"""The lab's server: `streamlit run serve.py` serves app.py, with the models loaded and one attack run before
the first visitor arrives (a plain `streamlit run app.py` works too, and pays for them on the first visit)."""
import asyncio
import logging
from contextlib import asynccontextmanager

import streamlit as st

from vacdemo.serving.lab import warm


@asynccontextmanager
async def lifespan(_app):
    seconds = await asyncio.to_thread(warm)
    logging.getLogger("vacdemo").warning("vacdemo: models loaded and one attack run in %.1f s", seconds)
    yield


app = st.App("app.py", lifespan=lifespan)
