"""The web layer: JSON API, survey pages. Calls services; holds no business rules."""
