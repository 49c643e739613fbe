"""`conformance serve`: a shared test bed over the same engine (issue 21).

A web UI and a REST API where organisations register their systems (candidate NSWs) and run the
suite against them; every run is `conformance run` in a child process of its own, so that the
verdict logic exists once (the CLI's) and a run that crashes or hangs takes nothing else with it.

Modules, each with one job:

- ``settings``: what the operator chose (data folder, database URL, bind address, workers, caps).
- ``models``: the SQLAlchemy 2 tables; ``db``: the engine, sessions and Alembic migrations
  (``migrations/``, applied on start).
- ``secret_box``: secrets at rest (Fernet keys from DATA/secret.key or CONFORMANCE_SECRET_KEYS).
- ``passwords``, ``auth``: users' passwords (argon2), sessions, CSRF, API tokens, the login rate
  limit and the one authorisation dependency every route goes through.
- ``systems``: a system's ICS TOML checked by the CLI's loader (the same messages).
- ``execute``: one run, start to verdict, in a capped child process (no queue in it);
  ``queue``: the RunQueue protocol and its in-process thread pool; ``limits``: the child's caps;
  ``dramatiq_queue`` and ``worker``: the same RunQueue on Redis and the `serve worker` command;
  ``lease``: a run's lease on its worker (heartbeat) and the reaper of runs whose worker died;
  ``requeue``: queued runs a broker lost sent again; ``periodic``: those chores' thread;
  ``run_egress``: the egress policy written for a registered system's run; ``site_key``: the
  site's evidence key, put into the run's ``[site]``.
- ``api``, ``pages``, ``report_files``: the REST API, the HTML pages, a run's report files.
- ``operator_prompts``: an attended run's manual-mode prompts (written by the run's process through
  app/operator_files.py), listed to the run page and answered from it.
- ``statements``: conformance statements, publishing, the secretariat's matrix; ``share_links``:
  signed, expiring, revocable read-only links, opened through ``shared`` (the public routes);
  ``notes``: signed comments and overrides (``signing``: HMAC with keys derived from the secret
  keys); ``run_results``: diff and rerun from a run's results.json; ``api_statements`` and
  ``pages_statements``: their API and pages.
- ``app``: the FastAPI application put together; ``server``: the command (bootstrap, uvicorn).
"""
