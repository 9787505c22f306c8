"""ais.toml: ``toml`` reads the file (cheap, no pydantic), ``loader`` validates it, ``models`` holds
the core sections, ``secrets`` the secret references, ``messages`` the one-line error wording."""
