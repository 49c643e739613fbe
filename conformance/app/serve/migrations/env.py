"""Alembic's environment for the service: always given an engine by db.migrate (no alembic.ini)."""

from alembic import context

from conformance.app.serve.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
