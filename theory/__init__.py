"""featavg.theory: SymPy derivations of the claims of SPEC §2 (never imports the simulator)."""

__all__ = []
