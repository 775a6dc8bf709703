"""Loopback fakes for tests: an OpenAI-compatible server and a static page server."""
