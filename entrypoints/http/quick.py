"""A quick path through FastAPI for the routes every desk calls most: a plain request skips FastAPI's parameter
resolution, every other request is answered by FastAPI as before.

Profiled on ``POST /dossiers/{code}/events``: FastAPI's dependency and parameter resolution (the key's
``Security`` header and its ``Depends``, the path and header parameters, the body's model) costs 90–150 µs a request
on two cores, a quarter of what the API adds to a transition (``docs/reference/benchmarks.md``). Most of it is
generic machinery run afresh per request (each parameter's annotation inspected again, an exit stack, a dependency
cache), not the validation itself.

:func:`quick_route` makes a FastAPI ``APIRoute`` (FastAPI's documented extension point, ``get_route_handler``) that
asks a :data:`PlainRequest` function first. That function returns the route function's arguments only for a
request FastAPI would accept as it is and pass the very same values for — it reads, it never answers; for anything
else it returns ``None`` and FastAPI's own handler runs, with its 401, its 422 documents and their order. So the quick
path can change no answer: an error is always FastAPI's, and a request it serves reaches the same function with the
same arguments. One rule of its own: it steps aside whenever the application overrides a dependency (tests).

The route is declared as any other (``add_api_route`` with ``route_class_override``): the OpenAPI document is the
same.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeAlias

from fastapi import Request, Response
from fastapi.routing import APIRoute

__all__ = ["PlainRequest", "quick_route"]

PlainRequest: TypeAlias = Callable[[Request], Awaitable[Mapping[str, Any] | None]]
"""The route function's keyword arguments for a request FastAPI would accept unchanged, else ``None``."""
Handler: TypeAlias = Callable[[Request], Coroutine[Any, Any, Response]]


def quick_route(plain: PlainRequest) -> type[APIRoute]:
    """An ``APIRoute`` class whose requests ``plain`` finds plain call the route's function directly; see the module.
    (One class per kind of route: FastAPI makes the route from the class.)"""

    class QuickRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            if not inspect.iscoroutinefunction(self.endpoint):
                raise TypeError(f"{self.path}: a quick route's function is a coroutine function (async def)")
            return _handler(plain, self.endpoint, self.dependency_overrides_provider, super().get_route_handler())

    return QuickRoute


def _handler(plain: PlainRequest, endpoint: Callable[..., Awaitable[object]], overrides: object,
             resolved: Handler) -> Handler:
    async def handler(request: Request) -> Response:
        arguments = None if getattr(overrides, "dependency_overrides", None) else await plain(request)
        if arguments is None:
            return await resolved(request)
        answer = await endpoint(**arguments)
        if not isinstance(answer, Response):
            raise TypeError(f"a quick route's function answers a Response, not {type(answer).__name__}")
        return answer

    return handler
