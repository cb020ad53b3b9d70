"""ipvs: program the Linux IPVS load balancer from Python."""

__version__ = "0.1.0"
