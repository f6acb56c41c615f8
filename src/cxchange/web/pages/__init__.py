"""One module per page group; each defines `router`. All pages need a signed-in user (AuthError redirects),
but the public survey form of `respond`."""

PAGE_MODULES = (
    "auth",
    "overview",
    "explorer",
    "imports",
    "themes_discover",  # before "themes": /themes/discover is not a theme id
    "themes",
    "decide",
    "initiatives",
    "sustain",
    "report",
    "respond",  # the public survey form (/s/TOKEN): no sign-in
    "surveys",
)
