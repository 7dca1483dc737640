"""The command line: one module per subcommand, shared argument helpers in ``args``."""
