"""Starting flows from the web app.

With ``BANTIN_USE_DEPLOYMENTS`` the flows run on Prefect workers through their deployments (see
deployments/); otherwise they run in one background thread of this process against Prefect's
embedded API, one at a time, so a phone's request returns at once.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from settings import Settings, configure_prefect_env

log = logging.getLogger(__name__)

PRODUCE_DEPLOYMENT = "produce-package/produce"
PUBLISH_DEPLOYMENT = "publish-package/publish"
RETRACT_DEPLOYMENT = "retract-package/retract"


class FlowStarter:
    def __init__(self, settings: Settings) -> None:
        configure_prefect_env(settings)
        self.use_deployments = settings.use_deployments
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bantin-flow")

    def produce(self, draft_id: int) -> Future[Any] | str:
        return self._start(PRODUCE_DEPLOYMENT, "produce", {"draft_id": draft_id})

    def publish(self, package_id: int) -> Future[Any] | str:
        return self._start(PUBLISH_DEPLOYMENT, "publish", {"package_id": package_id})

    def retract(self, package_id: int) -> Future[Any] | str:
        """Tell devices (MQTT stop for emergencies) and destinations about a withdrawal or kill."""
        return self._start(RETRACT_DEPLOYMENT, "retract", {"package_id": package_id})

    def _start(self, deployment: str, which: str, params: dict[str, int]) -> Future[Any] | str:
        if self.use_deployments:
            from prefect.deployments import run_deployment

            run = run_deployment(deployment, parameters=params, timeout=0)
            return str(run.id)
        return self._pool.submit(self._run_embedded, which, params)

    @staticmethod
    def _run_embedded(which: str, params: dict[str, int]) -> Any:
        from flows.produce import produce_package
        from flows.publish import publish_package, retract_package

        try:
            if which == "produce":
                return produce_package(**params)
            if which == "retract":
                return retract_package(**params)
            return publish_package(**params)
        except Exception:  # the flow has recorded the failure on the package; keep the worker alive
            log.exception("%s flow failed for %s", which, params)
            return None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
