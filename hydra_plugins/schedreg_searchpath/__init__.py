"""Makes schedreg's config groups (``solver=cosine`` ...) visible in every Hydra app.

Hydra imports every module under ``hydra_plugins`` at startup, so this stays tiny and
imports neither torch nor the rest of schedreg's torch layer.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class SchedregSearchPathPlugin(SearchPathPlugin):
    """Appends ``pkg://schedreg.conf`` to the search path and registers the schemas."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from schedreg.config.schema import register_schemas

        register_schemas()
        search_path.append(provider="schedreg", path="pkg://schedreg.conf")
