"""``python -m device_agent``: same as the ``bantin-device`` command."""

from device_agent.main import main

main()
