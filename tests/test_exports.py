"""The public API: every name in __all__ exists, and the list is pinned."""

from __future__ import annotations

import lc_gemini_router

EXPECTED = {
    "COST_EVENT",
    "DECISION_EVENT",
    "WASTED_EVENT",
    "ApiVersionWarning",
    "Breaker",
    "BatchError",
    "BatchItemError",
    "BatchJob",
    "BatchNotReadyError",
    "BatchState",
    "BatchStore",
    "BatchTimeoutError",
    "Budget",
    "BudgetExceededError",
    "BudgetLedger",
    "BudgetStatus",
    "CallRecord",
    "CircuitBreaker",
    "ClassifierError",
    "ClassifierScore",
    "ClassifierSettings",
    "ConfigError",
    "CostBreakdown",
    "GeminiCostCallbackHandler",
    "GeminiDecisionModel",
    "GeminiRouter",
    "GeminiRouterError",
    "GeminiRoutingMiddleware",
    "GeminiRouterWarning",
    "LaneError",
    "LaneSpec",
    "MemoryStore",
    "ModelLifecycleWarning",
    "PriceCatalog",
    "RedisStore",
    "RetiredModelError",
    "RouteDecision",
    "RouterConfig",
    "ScoreCache",
    "ScoreStore",
    "StateStore",
    "StoreUnavailableError",
    "StoreUnavailableWarning",
    "FileBatchStore",
    "MemoryBatchStore",
    "UnknownBatchJobError",
    "UnknownLaneError",
    "UnknownPriceWarning",
    "UnsupportedInputError",
    "UnverifiedPriceWarning",
    "UsageTotals",
    "__version__",
    "default_catalog",
    "get_gemini_cost_callback",
    "load_catalog",
    "price_cache_storage",
    "price_message",
    "price_usage",
}


def test_all_is_pinned() -> None:
    assert set(lc_gemini_router.__all__) == EXPECTED


def test_all_is_unique() -> None:
    # Sorting is enforced by ruff (RUF022); duplicates would hide a renamed export.
    names = lc_gemini_router.__all__
    assert len(names) == len(set(names))


def test_every_exported_name_resolves() -> None:
    for name in lc_gemini_router.__all__:
        assert getattr(lc_gemini_router, name) is not None, name


def test_errors_share_one_root() -> None:
    from lc_gemini_router import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        root = errors.GeminiRouterWarning if issubclass(cls, Warning) else errors.GeminiRouterError
        assert issubclass(cls, root), name


def test_the_pure_policy_imports_without_side_effects() -> None:
    """Importing the routing policy must not register the cost handler's LangChain hook."""
    import subprocess
    import sys

    code = (
        "import sys; import lc_gemini_router.routing.policy; "
        "print('lc_gemini_router.callbacks.handler' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_package_imports_neither_langchain_nor_the_cost_hook() -> None:
    """``import lc_gemini_router`` loads no agent framework and registers no hook;
    the middleware (``[agents]`` extra) loads langchain only when it is used."""
    import subprocess
    import sys

    code = (
        "import sys; import lc_gemini_router; "
        "print(sorted(m for m in ('langchain', 'langgraph', 'lc_gemini_router.callbacks.handler') "
        "if m in sys.modules)); "
        "from lc_gemini_router import GeminiRoutingMiddleware; print('langchain' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"]


def test_the_package_has_no_import_cycles() -> None:
    """Module-level imports between the package's modules form no cycle."""
    import ast
    from pathlib import Path

    root = Path(lc_gemini_router.__file__).parent
    modules = {
        ".".join(("lc_gemini_router", *p.relative_to(root).with_suffix("").parts)).removesuffix(
            ".__init__"
        ): p
        for p in root.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules}
        graph[name] = deps - {name, "lc_gemini_router"}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for dep in graph[name]:
            visit(dep, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())
