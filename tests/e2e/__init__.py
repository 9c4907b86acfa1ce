"""Browser tests: Playwright drives Debian's chromium against a real server process.

A package, so that the server and the browser its conftest starts are stopped after the
last test here rather than at the end of the whole run: the other tests then run without
a second server sweeping beside them, and without Playwright's event loop in the thread
(which Django would take for an async context)."""
