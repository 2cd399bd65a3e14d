"""Builders: a solver node in, a schedule (or a torch scheduler) out.

Each module registers its peer's names with :func:`~schedreg.registry.register_scheduler`;
:mod:`schedreg.builders.builtin` lists them, for the registry to import at its first lookup.
"""
