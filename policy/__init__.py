"""The school's Online Safety Policy as code: pure domain, standard library only.

Every rule names the policy clause it enforces (files in ``shared/policies``, summarised in the
domain brief). Nothing here knows about Teams, Graph or the store.
"""
