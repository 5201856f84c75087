"""pyexec integration tests (a package, so that test file names cannot
clash with those of other test directories collected in the same run)."""
