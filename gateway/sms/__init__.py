"""SMS keywords: parsing (keywords.py) and answering them with the services (router.py)."""
