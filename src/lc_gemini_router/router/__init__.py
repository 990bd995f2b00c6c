"""GeminiRouter and the pieces of its run, one concept per module.

chat_model.py  GeminiRouter: the LangChain chat model, its fields and entry points
keywords.py    strict constructor keywords (the closest valid name on a typo)
lanes.py       LaneSet: the lane models a router builds, shares and closes
calls.py       one call's arguments sorted into routing and lane arguments
runs.py        the router run's identity and its child callback managers
pipeline.py    the one flow: prepare, classify, decide, execute, annotate
"""

from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["GeminiRouter"]
