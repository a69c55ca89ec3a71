# Each service's files are copied into an adoption test's copy of the project, and run there;
# here they are data, not tests of this project.
collect_ignore_glob = ["*/src", "*/unit"]
