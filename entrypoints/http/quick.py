"""A quick path through FastAPI for the routes every desk calls most: a plain request skips FastAPI's parameter
resolution, every other request is answered by FastAPI as before.

Profiled on ``POST /dossiers/{code}/events``: FastAPI's dependency and parameter resolution (the key's
``Security`` header and its ``Depends``, the path and header parameters, the body's model) costs 100–150 µs a request
on two cores, a quarter of what the API adds to a transition (``docs/reference/benchmarks.md``). Most of it is
generic machinery run afresh per request (each parameter's annotation inspected again, an exit stack, a dependency
cache), not the validation itself.

:func:`quick_route` makes a FastAPI ``APIRoute`` (FastAPI's documented extension point, ``get_route_handler``) that
asks a :data:`PlainRequest` function first. That function returns the route function's arguments only for a
request FastAPI would accept as it is and pass the very same values for — it reads, it never answers; for anything
else it returns ``None`` and FastAPI's own handler runs, with its 401, its 422 documents and their order. So the quick
path can change no answer: an error is always FastAPI's, and a request it serves reaches the same function with the
same arguments. It steps aside whenever the application overrides a dependency (tests) or FastAPI's own tracing is
on (OpenTelemetry: FastAPI records the request and its values as it resolves them), and the key is looked up only
once the body has been read, as FastAPI does: a body sent slowly cannot carry a key past its revocation.

The route is declared as any other (``add_api_route`` with ``route_class_override``): the OpenAPI document is the
same.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from typing import Any, TypeAlias

from fastapi import Request, Response
from fastapi.routing import APIRoute
from fastapi.telemetry import get_telemetry_data  # set while FastAPI traces a request (an OpenTelemetry provider)

__all__ = ["PlainRequest", "quick_route"]

PlainRequest: TypeAlias = Callable[[Request], Awaitable[Mapping[str, Any] | None]]
"""The route function's keyword arguments for a request FastAPI would accept unchanged, else ``None``."""
Handler: TypeAlias = Callable[[Request], Coroutine[Any, Any, Response]]


def quick_route(plain: PlainRequest, parameters: Collection[str]) -> type[APIRoute]:
    """An ``APIRoute`` class whose requests ``plain`` finds plain call the route's function directly; see the module.
    ``parameters``: the names of the arguments ``plain`` gives, which must be the function's own, every one (checked
    when the route is made). One class per kind of route: FastAPI makes the route from the class."""

    class QuickRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            _check(self.path, self.endpoint, parameters)
            return _handler(plain, self.endpoint, self.dependency_overrides_provider, super().get_route_handler())

    return QuickRoute


def _check(path: str, endpoint: Callable[..., Any], parameters: Collection[str]) -> None:
    """Refuse, when the app is built, a function the quick path could call wrongly."""
    signature = inspect.signature(endpoint, eval_str=True)  # through functools.wraps, the route's own
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{path}: a quick route's function is a coroutine function (async def)")
    if set(signature.parameters) != set(parameters):
        raise TypeError(f"{path}: the function takes {sorted(signature.parameters)}, the quick path gives "
                        f"{sorted(parameters)}")
    answer = signature.return_annotation
    if not (isinstance(answer, type) and issubclass(answer, Response)):
        raise TypeError(f"{path}: a quick route's function answers a Response (FastAPI would encode anything else)")


def _handler(plain: PlainRequest, endpoint: Callable[..., Awaitable[object]], overrides: object,
             resolved: Handler) -> Handler:
    async def handler(request: Request) -> Response:
        arguments = None if _aside(overrides) else await plain(request)
        if arguments is None:
            return await resolved(request)
        answer = await endpoint(**arguments)
        if not isinstance(answer, Response):
            raise TypeError(f"a quick route's function answers a Response, not {type(answer).__name__}")
        return answer

    return handler


def _aside(overrides: object) -> bool:
    """Whether FastAPI must handle every request: a dependency is overridden (tests), or FastAPI's own tracing is
    on (it records the request, its body and its values while it resolves them)."""
    return bool(getattr(overrides, "dependency_overrides", None)) or get_telemetry_data() is not None
