"""Reports a person or a program reads: the run report, the load report with its HTML page, the bench report."""
