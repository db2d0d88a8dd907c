"""Entry point: `streamlit run app.py`."""

import streamlit as st

st.set_page_config(page_title="GLM-4 Chat", page_icon="assets/logo.svg", layout="wide")
st.navigation(
    [
        st.Page("pages/chat.py", title="Chat", icon="💬", default=True),
        st.Page("pages/tools.py", title="All Tools", icon="🧰", url_path="tools"),
        st.Page("pages/documents.py", title="Long document", icon="📄", url_path="documents"),
    ]
).run()
