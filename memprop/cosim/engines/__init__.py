"""Engines: whatever settles the phases of a batch, behind one protocol (base.Engine); the factory picks one."""
