"""The DNS port: what the host provides so an own domain's ownership can be verified.

cabinet_core never touches the network itself; the host implements :class:`DnsResolver` (dnspython, its
own resolver service, or a fake in tests) and passes it to :meth:`cabinet_core.domains.OwnDomain.verify`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["DnsResolver"]


@runtime_checkable
class DnsResolver(Protocol):
    """Looks up the records used to prove that a customer controls a domain.

    Names are passed as ASCII (A-label) names without a trailing dot. A name with no such record (NXDOMAIN,
    NODATA) is an empty answer, not an error. A lookup that could not be made (timeout, SERVFAIL) should
    raise; cabinet_core reports it as :class:`cabinet_core.domains.DnsLookupFailed` and changes nothing.
    """

    def txt_records(self, name: str) -> list[str]:
        """Every TXT record at ``name``, each with its character-strings joined into one string."""
        ...

    def cname(self, name: str) -> str | None:
        """The target of the CNAME record at ``name`` (a trailing dot is allowed), or ``None``."""
        ...
