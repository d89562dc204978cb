"""The panes of the main screen (the Query pane lives in `dbinspect.tui.query`).

Each pane is imported from its own module, when the screen builds it (see
`dbinspect.tui.screens.pane_builders`): the first frame imports only the pane it shows.
"""
