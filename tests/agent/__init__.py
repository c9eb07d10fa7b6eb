"""Tests of the reference device agent (device_agent/)."""
