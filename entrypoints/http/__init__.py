"""The HTTP API of motcua (FastAPI): hosts in Java, .NET, PHP… run dossiers over HTTP.

:func:`motcua.entrypoints.http.app.create_app` builds the application from an opened
:class:`~motcua.adapters.bootstrap.Motcua` and an :class:`~motcua.adapters.keys.HttpStore` (API keys and
idempotency records); ``motcua serve`` runs it under uvicorn. See docs/reference/python-api.md.
"""
