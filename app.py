"""Entry point: `streamlit run app.py` (what scripts/run.sh does) or `uvicorn app:app`.

Imported as a module (by `streamlit run`, which finds `app` below, or by uvicorn) it is the
server: Streamlit's pages plus the sign-in routes, the OpenAI-compatible API, health and
metrics (glm4_app/server). Run as a script on every page view, it draws the Chat page.
"""

import streamlit as st

if __name__ == "__main__":
    from glm4_app.ui.chat_page import page

    page("chat")
else:
    from glm4_app.server import parts

    app = st.App(__file__, **parts())
