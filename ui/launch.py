"""``streamlit`` with ``ui.protocol_guard`` installed before the server starts.

python -m ui.launch run app.py [options]     # what ui/serve.py starts
"""

from __future__ import annotations

import sys

from streamlit.web import cli

from ui import protocol_guard

if __name__ == "__main__":
    protocol_guard.install()
    sys.argv[0] = "streamlit"
    sys.exit(cli.main())
