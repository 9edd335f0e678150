"""Alembic migrations, run in-process (`nhacviec db upgrade` and at service start)."""
