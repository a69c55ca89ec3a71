# hello's files are copied into the adoption test's copy of the project, and run there; here
# they are data, not tests of this project.
collect_ignore = ["src", "unit"]
