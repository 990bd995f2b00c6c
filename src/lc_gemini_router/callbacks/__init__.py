"""What reaches LangChain's callback stream: the cost handler and the router's payloads.

``handler`` (the handler and ``get_gemini_cost_callback``), ``replies`` (what a run's
result reported), ``pricer`` (one reply priced into a record), ``ledger`` (the totals
and log), ``records`` (``CallRecord``, ``UsageTotals``), ``context`` (the configure
hooks behind the ``with`` block) and ``payloads`` (what a routed call reports).
"""
