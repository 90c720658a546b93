"""The labeling web app: a page where people compare clip pairs while the agent trains (``prefrl label``)."""
