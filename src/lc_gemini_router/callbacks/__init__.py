"""What reaches LangChain's callback stream: the cost handler and the router's payloads."""
