"""One module per page group; each defines `router`. All pages need a signed-in user (AuthError redirects)."""

PAGE_MODULES = (
    "auth",
    "overview",
    "explorer",
    "imports",
    "themes",
    "decide",
    "initiatives",
    "sustain",
    "report",
)
