"""Reading a solver node: its keys and defaults (:mod:`.solver`), units (:mod:`.units`),
argument checks against a signature (:mod:`.signature`), the world-size rule
(:mod:`.scaling`) and Hydra's schema (:mod:`.schema`)."""

from schedreg.config.solver import SolverConfig, solver_config

__all__ = ["SolverConfig", "solver_config"]
