"""Web-facing parts: the editorial app (issue #4) and the reference receiver for destinations."""
