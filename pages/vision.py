from glm4_app.ui.chat_page import page

page("vision")
