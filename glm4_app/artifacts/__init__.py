"""What the model makes that the page shows live: web pages, SVG drawings and mermaid diagrams
written in an answer or by the python tool, and the rich outputs of a code cell.

- ``blocks``: the fenced ``html`` / ``svg`` / ``mermaid`` blocks of an answer (pure parsing).
- ``saved``: artifacts as files in the conversation's media folder, with random ids; copied
  for share links and "Continue in my chats", embedded in JSON exports and read back.
- ``access``: who may open ``/artifact/<id>``: a ticket the page mints for its viewer.
- ``frames``: the documents the server serves for a preview and their sandbox policy.

No Streamlit here: the page draws them (glm4_app/ui/artifacts.py, ui/rich_output.py) and the
server serves them (glm4_app/server/artifacts.py).
"""

from ..i18n import N_

FRAMED = ("html", "svg", "mermaid")  # previewed in a sandboxed frame served by the app
KINDS = {"html": N_("Web page"), "svg": N_("SVG image"), "mermaid": N_("Mermaid diagram")}  # their names
