"""What reaches LangChain's callback stream: the cost handler and the router's payloads.

``handler`` (the handler and ``get_gemini_cost_callback``), ``ledger`` (its totals and
log), ``records`` (``CallRecord``, ``UsageTotals``), ``context`` (the configure hook
behind the ``with`` block) and ``payloads`` (what a routed call reports).
"""
