"""bantin-device: the reference agent for a commune's loudspeaker player box or electronic board.

See docs/device-protocol.md for the protocol it speaks and docs/device-agent.md for operators.
"""

__version__ = "0.1.0"
