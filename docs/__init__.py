"""The documentation site's machinery: its nox session (sessions.py), the generator of its
parts (generate.py), the notes on each Dockerfile's instructions (notes/) and its browser test
(tests/). Its pages are pages/, its config ../mkdocs.yml; `rm -r docs mkdocs.yml` removes it."""
