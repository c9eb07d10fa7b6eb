"""bantin-device: the reference agent for a commune's loudspeaker player box or electronic board.

See docs/device-protocol.md for the protocol it speaks.
"""
