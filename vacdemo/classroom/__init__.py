"""A class plays together: classes with a code and a teacher key, students' attempts stored (SQLite or PostgreSQL
through SQLAlchemy), the smallest ε that fools the model found by the server, the wall's figures, challenges."""
