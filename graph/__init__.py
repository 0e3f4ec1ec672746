"""Directory adapters: Microsoft Graph (the only code importing msgraph / azure.identity) and
the local directory file used in local mode."""
