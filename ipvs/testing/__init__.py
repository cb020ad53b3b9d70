"""Testing aids: the sandbox kernel and a topology of backends, for your tests too.

* :mod:`ipvs.testing.sandbox`: boot a throw-away User-Mode Linux kernel with
  IPVS and run a command in it (``python -m ipvs.testing.sandbox -- CMD``).
* :mod:`ipvs.testing.topology`: backends in network namespaces behind veth
  pairs, with whoami HTTP servers, a VIP and a client (needs ``pyroute2``:
  ``pip install 'ipvs[testing]'``).

Their errors live with the others, in :mod:`ipvs.errors`, and are re-exported
here.
"""

from ipvs.errors import HTTPError, SandboxError, SandboxTimeout, SandboxUnavailable, TopologyError

__all__ = ["HTTPError", "SandboxError", "SandboxTimeout", "SandboxUnavailable", "TopologyError"]
