"""Browser (end-to-end) tests: an editor in Chromium against the live server."""
