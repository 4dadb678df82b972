"""Who sees what: access scopes over units and applicants."""
