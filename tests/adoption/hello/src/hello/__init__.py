"""hello: greetings, kept in a file."""
