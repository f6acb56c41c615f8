"""Who may do what: users and roles, argon2 passwords, sessions, CSRF, API tokens, unit scoping, audit."""
