"""Dashboard definitions shipped with feedback (TOML files; installed as feedback.dashboards)."""
