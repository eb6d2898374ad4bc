"""The `photosift` command: `main` parses and is the one boundary that turns errors into exit codes;
one module per group of subcommands; `output` formats what they print."""
