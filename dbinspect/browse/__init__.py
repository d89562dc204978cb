"""Backend-neutral row browsing: a window of rows, a position, a filter and a sort.

`RowBrowser` keeps them and asks a `RowPager` (a backend) for pages; only the backend
writes SQL. The Data pane draws from a browser, and so will the query console.
"""
