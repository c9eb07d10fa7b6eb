"""Serve the flows from one long-running process (``python -m deployments.serve``).

Needs a Prefect server (``prefect server start``, PREFECT_API_URL set). Runs of the deployments can
then be triggered from the Prefect UI, from ``prefect deployment run``, or by the web app.
"""

from prefect import serve

from flows.produce import produce_package
from flows.publish import publish_due, publish_package
from settings import configure_prefect_env, get_settings


def main() -> None:
    configure_prefect_env(get_settings())
    serve(
        produce_package.to_deployment(name="produce", tags=["bantin"]),
        publish_package.to_deployment(name="publish", tags=["bantin"]),
        publish_due.to_deployment(name="due", tags=["bantin"], cron="* * * * *"),
    )


if __name__ == "__main__":
    main()
