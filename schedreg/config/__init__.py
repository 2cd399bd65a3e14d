"""Reading a solver node: its keys and defaults (:mod:`.solver`), units (:mod:`.units`),
argument checks against a signature (:mod:`.signature`), the world-size rule
(:mod:`.scaling`) and Hydra's schema (:mod:`.schema`)."""

from schedreg.config.parse import solver_config
from schedreg.config.solver import SolverConfig

__all__ = ["SolverConfig", "solver_config"]
