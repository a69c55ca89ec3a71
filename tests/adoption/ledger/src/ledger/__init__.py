"""ledger: entries kept in PostgreSQL, through a driver compiled against libpq."""
