"""A class plays together: classes with a code and a teacher key, students' attempts kept in a store (SQLite or
PostgreSQL through SQLAlchemy), rankings, the wall's figures. No model here: the server computes each attempt's
figures (vacdemo.serving.send) and records them through this package."""
