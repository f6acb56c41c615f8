"""One module per page group; each defines `router`. All pages need a signed-in user (AuthError redirects),
but the public survey form of `respond`."""

# The public survey form (/s/TOKEN, no sign-in): routed before everything else (routes.mount_public), so a
# respondent's request is not matched against every API and page route first (a tenth of its CPU).
PUBLIC_MODULES = ("respond",)
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
    "surveys",
)
