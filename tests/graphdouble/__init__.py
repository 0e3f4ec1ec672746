"""A local Microsoft Graph double for adapter tests: the real msgraph-sdk over real HTTP.

``GraphDouble`` (server.py) serves Graph JSON for the demo school (tenant.py) with
controllable faults and a request log; ``StaticTokenCredential`` (credential.py) hands the
SDK the one token the double accepts.
"""

from tests.graphdouble.credential import StaticTokenCredential
from tests.graphdouble.server import RSC_CONSENT_REQUIRED, TOKEN, Fault, GraphDouble, Seen
from tests.graphdouble.tenant import CatalogApp, ChannelPost, Tenant, demo_tenant

__all__ = [
    "RSC_CONSENT_REQUIRED",
    "TOKEN",
    "CatalogApp",
    "ChannelPost",
    "Fault",
    "GraphDouble",
    "Seen",
    "StaticTokenCredential",
    "Tenant",
    "demo_tenant",
]
