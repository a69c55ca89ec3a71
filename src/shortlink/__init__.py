"""shortlink: a small URL-shortener API."""
