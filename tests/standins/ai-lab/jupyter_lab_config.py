# Stand-in copy of the settings the AI Lab image puts in ~/.jupyter.
c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)
c.NotebookApp.ip = "*"
c.NotebookApp.open_browser = False
c.LabApp.default_url = "/lab/tree/start.ipynb"
c.ServerApp.port = 49494
