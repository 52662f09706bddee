"""The room store on SQLAlchemy: SQLite (the embedded default) and PostgreSQL."""
