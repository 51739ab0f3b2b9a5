"""Registries of named components (init methods, LAPT modes, evaluation tasks), open to outside code.

A name is looked up in the registry first; a ``"package.module:callable"`` path is imported instead, so users
add a method without forking the repository.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A dict-like name → component mapping with a decorator to register and a helpful error on a miss."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(component: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = component
            return component

        return decorator

    def get(self, name: str) -> T:
        if name in self._entries:
            return self._entries[name]
        if ":" in name:
            module_name, _, attribute = name.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as err:
                raise KeyError(f"cannot import module {module_name!r} for {self.kind} {name!r}: {err}") from err
            try:
                return getattr(module, attribute)
            except AttributeError as err:
                raise KeyError(
                    f"module {module_name!r} has no attribute {attribute!r} ({self.kind} {name!r})"
                ) from err
        valid = ", ".join(sorted(self._entries))
        raise KeyError(f"unknown {self.kind} {name!r}; valid names: {valid} (or a 'module:callable' path)")

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)
