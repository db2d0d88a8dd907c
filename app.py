"""Entry point and the Chat page: `streamlit run app.py`. Other modes live in pages/."""

from glm4_app.ui.chat_page import page

page("chat")
