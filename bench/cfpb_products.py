"""CFPB product names merged across the years (per shared/data/README.md), and a department slug for each."""

from __future__ import annotations

import re

MERGED = {
    "Credit card": "Credit card or prepaid card",
    "Prepaid card": "Credit card or prepaid card",
    "Payday loan": "Payday loan, title loan, or personal loan",
    "Consumer Loan": "Vehicle loan or lease",
    "Bank account or service": "Checking or savings account",
    "Credit reporting": "Credit reporting, credit repair services, or other personal consumer reports",
    "Money transfers": "Money transfer, virtual currency, or money service",
    "Virtual currency": "Money transfer, virtual currency, or money service",
    "Other financial service": "Money transfer, virtual currency, or money service",
}


def merged_product(name: str) -> str:
    return MERGED.get(name, name)


def department_slug(product: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", merged_product(product).lower()).strip("-")[:64]
