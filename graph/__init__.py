"""Adapters for who is who: Microsoft Graph (the only code importing msgraph / azure.identity)
and the local directory file used in local mode.

- ``client``: one azure-identity credential and one msgraph-sdk client for the process, with
  bounded retries.
- ``directory``: ``GraphDirectory`` (the Directory port): education role + transitive role
  groups, resolved by ``policy.roles.resolve_roles``; cached, never holding a turn on Graph.
- ``calendar``: ``GraphCalendar`` (the Calendar port): upcoming Teams meetings and their options.
- ``notifier``: ``GraphNotifier`` (the Notifier port): activity-feed alerts, 5 per second.
- ``teams``: the app's installation in the safeguarding team and its channels, for /healthz.
- ``errors``: Graph failures classified once, translated by each adapter to its port's error.
- ``local_directory``: the same ports on a JSON file (local mode and the demo school).
"""
