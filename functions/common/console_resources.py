"""Where the returns desk console lives in the API (docs/console.md): the page, and its assets by
name. Standard library only: the console function ships without the dependency layer and imports
nothing else of ``common``; ``common.api_routes`` declares its routes with these."""

CONSOLE_PAGE_RESOURCE = "/console"
CONSOLE_ASSET_RESOURCE = "/console/{asset}"
