"""Tests in a real browser (Playwright driving Debian's chromium) against a real `museum serve`."""
